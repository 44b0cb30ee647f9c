// `fabra context ...`: the record commands, one file each.
import type { Command } from "commander";
import { registerContextExport } from "./context-export.js";
import { registerContextImport } from "./context-import.js";
import { registerContextList } from "./context-list.js";
import { registerContextRun } from "./context-run.js";
import { registerContextShow } from "./context-show.js";
import { registerContextVerify } from "./context-verify.js";

export function registerContextCommands(program: Command): void {
  const context = program.command("context").description("Inspect, verify, export and import Context Records");
  registerContextRun(context);
  registerContextShow(context);
  registerContextVerify(context);
  registerContextList(context);
  registerContextExport(context);
  registerContextImport(context);
}
