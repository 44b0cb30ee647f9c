// `fabra context show <id>`: one record, as readable text or as canonical JSON.
import type { Command } from "commander";
import { getLedgerRow, rowToRecord, verifyLedgerRow } from "../../engine/ledger/ledger.js";
import { withRecordStore } from "../../app/project.js";
import { verifyOptionsFromEnv } from "../../record/verify-env.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { renderRecord } from "../render/record-view.js";

export function registerContextShow(context: Command): void {
  context
    .command("show <id>")
    .description("Show a context record: inputs, features, retrieved and dropped items, freshness, integrity")
    .option("--format <format>", "text | json", "text")
    .action(async (id: string, opts: { format?: string }, cmd: Command) => {
      const format = parseFormat(opts.format, ["text", "json"] as const, "text");
      await withRecordStore(projectOptions(cmd), async (records, config) => {
        const row = await getLedgerRow(records, id);
        if (format === "json") return print(row.canonicalText);
        print(renderRecord(rowToRecord(row), verifyLedgerRow(row, verifyOptionsFromEnv(process.env, config.signing.mode))));
      });
    });
}
