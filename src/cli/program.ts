// The command tree. Each command lives in its own file under commands/ and registers itself here.
import { Command } from "commander";
import { fabraVersion } from "../util/version.js";
import { registerContextCommands } from "./commands/context.js";
import { registerDemo } from "./commands/demo.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerFeatureCommands } from "./commands/features.js";
import { registerIndexCommands } from "./commands/index-add.js";
import { registerInit } from "./commands/init.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerMaterialize } from "./commands/materialize.js";
import { registerTrainingData } from "./commands/training-data.js";
import { registerWorker } from "./commands/worker.js";
import { registerServe } from "./commands/serve.js";

export function buildProgram(): Command {
  const program = new Command("fabra")
    .description("Context Records for AI applications: every assembled context recorded, hash-verified and replayable.")
    .version(fabraVersion(), "-v, --version")
    .option("-c, --config <path>", "config file (default: fabra.config.ts|js|json or .fabrarc found from the current directory up)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  registerDemo(program);
  registerInit(program);
  registerContextCommands(program);
  registerIndexCommands(program);
  registerFeatureCommands(program);
  registerMigrate(program);
  registerDoctor(program);
  registerMaterialize(program);
  registerTrainingData(program);
  registerWorker(program);
  registerServe(program);
  return program;
}
