// `fabra context import <file...>`: verify record files, then append them to the ledger (all or nothing on bad input),
// marked as imported: an operator's explicit action, and never taken for records this deployment produced.
import type { Command } from "commander";
import { withLedger } from "../../app/project.js";
import { print, projectOptions } from "../options.js";
import { dim, ok } from "../render/format.js";

export function registerContextImport(context: Command): void {
  context
    .command("import <files...>")
    .description(
      "Import record files into the ledger after verifying each one; they are marked imported (shown by show, verify and list --format json)",
    )
    .action(async (files: string[], _flags: unknown, cmd: Command) => {
      await withLedger(projectOptions(cmd), async (ledger) => {
        const outcomes = await ledger.import(files);
        for (const o of outcomes) {
          print(
            o.outcome === "inserted"
              ? ok(`Imported ${o.contextId} from ${o.file} (marked imported)`)
              : dim(`= ${o.contextId} already in the ledger (identical)`),
          );
        }
      });
    });
}
