// The command tree. Each command lives in its own file under commands/; this table knows every top-level command's
// help line and imports a command's module only when the command line selects it (see lazy-commands.ts).
import { Command } from "commander";
import { fabraVersion } from "../util/version.js";
import { addLazyCommands, lazyHelp, type LazyCommand } from "./lazy-commands.js";

/** Every top-level command, in the order `fabra --help` lists them. */
export const COMMANDS: readonly LazyCommand[] = [
  {
    term: "demo [options]",
    description: "Run fabra end to end in a temp project: init, index docs, assemble, show and verify a record",
    load: async () => (await import("./commands/demo.js")).registerDemo,
  },
  {
    term: "init [options] [dir]",
    description: "Create a fabra project (config, features, retrievers, contexts, sample docs)",
    load: async () => (await import("./commands/init.js")).registerInit,
  },
  {
    term: "context",
    description: "Inspect, verify, diff, replay, export and import Context Records",
    load: async () => (await import("./commands/context.js")).registerContextCommands,
  },
  {
    term: "ledger",
    description: "The transparency log over the ledger: signer keys, signed checkpoints, append-only verification",
    load: async () => (await import("./commands/ledger.js")).registerLedgerCommands,
  },
  {
    term: "index",
    description: "Manage vector indexes of documents",
    load: async () => (await import("./commands/index-add.js")).registerIndexCommands,
  },
  {
    term: "features",
    description: "Read and inspect features",
    load: async () => (await import("./commands/features.js")).registerFeatureCommands,
  },
  {
    term: "ingest",
    description: "Inspect ingested events (POST /v1/ingest/{event}): the dead-letter list",
    load: async () => (await import("./commands/ingest.js")).registerIngestCommands,
  },
  {
    term: "migrate [options]",
    description: "Apply fabra's Postgres migrations (idempotent; safe to run from several processes at once)",
    load: async () => (await import("./commands/migrate.js")).registerMigrate,
  },
  {
    term: "doctor [options]",
    description: "Check the config and every configured store (connectivity, versions, migrations, pgvector, ledger)",
    load: async () => (await import("./commands/doctor.js")).registerDoctor,
  },
  {
    term: "materialize [options] [features...]",
    description:
      "Compute features for their entities into history and the online cache (default: every feature with materialize: true)",
    load: async () => (await import("./commands/materialize.js")).registerMaterialize,
  },
  {
    term: "training-data [options]",
    description: "Join feature values to events as of each event's time (never a value computed after it)",
    load: async () => (await import("./commands/training-data.js")).registerTrainingData,
  },
  {
    term: "worker [options]",
    description:
      "Refresh features on their schedules (refresh + materialize: true) and recompute on ingested events (Redis) until stopped; no HTTP",
    load: async () => (await import("./commands/worker.js")).registerWorker,
  },
  {
    term: "serve [options]",
    description:
      "Serve features, context assembly and the record ledger over HTTP (GET /openapi.json lists the routes)",
    load: async () => (await import("./commands/serve.js")).registerServe,
  },
  {
    term: "ui [options]",
    description: "Browse, verify, compare and replay context records in the browser (prints the URL; opens nothing)",
    load: async () => (await import("./commands/ui.js")).registerUi,
  },
];

/** The program for `argv` (as process.argv: node, script, then the arguments): only the selected command is loaded. */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command("fabra")
    .description("Context Records for AI applications: every assembled context recorded, hash-verified and replayable.")
    .version(fabraVersion(), "-v, --version")
    .option(
      "-c, --config <path>",
      "config file (default: fabra.config.ts|js|json or .fabrarc found from the current directory up)",
    )
    .option(
      "--url <url>",
      "read records from this fabra server (default FABRA_URL; key: FABRA_API_KEY) for context show|verify|diff|list|export",
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureHelp(lazyHelp)
    .configureOutput({ outputError: (text, write) => write(text) });
  await addLazyCommands(program, COMMANDS, argv.slice(2));
  return program;
}
