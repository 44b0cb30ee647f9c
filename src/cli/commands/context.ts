// `fabra context ...`: the record commands, one file each.
import type { Command } from "commander";
import { registerContextDiff } from "./context-diff.js";
import { registerContextExport } from "./context-export.js";
import { registerContextImport } from "./context-import.js";
import { registerContextList } from "./context-list.js";
import { registerContextReplay } from "./context-replay.js";
import { registerContextRun } from "./context-run.js";
import { registerContextShow } from "./context-show.js";
import { registerContextVerify } from "./context-verify.js";

export function registerContextCommands(program: Command): void {
  const context = program.command("context").description("Inspect, verify, diff, replay, export and import Context Records");
  registerContextRun(context);
  registerContextShow(context);
  registerContextVerify(context);
  registerContextList(context);
  registerContextDiff(context);
  registerContextReplay(context);
  registerContextExport(context);
  registerContextImport(context);
}
