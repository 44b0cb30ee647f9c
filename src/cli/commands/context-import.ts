// `fabra context import <file...>`: verify record files, then append them to the ledger (all or nothing on bad input).
import type { Command } from "commander";
import { withLedger } from "../../app/project.js";
import { print, projectOptions } from "../options.js";
import { dim, ok } from "../render/format.js";

export function registerContextImport(context: Command): void {
  context
    .command("import <files...>")
    .description("Import record files into the ledger after verifying each one")
    .action(async (files: string[], _flags: unknown, cmd: Command) => {
      await withLedger(projectOptions(cmd), async (ledger) => {
        const outcomes = await ledger.import(files);
        for (const o of outcomes) {
          print(
            o.outcome === "inserted"
              ? ok(`Imported ${o.contextId} from ${o.file}`)
              : dim(`= ${o.contextId} already in the ledger (identical)`),
          );
        }
      });
    });
}
