// `fabra context show <id>`: one record, as readable text or as its stored canonical JSON; exit 1 when it fails
// verification (the text view says why; with --format json the reason goes to stderr).
import type { Command } from "commander";
import { withLedger } from "../../app/project.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { IMPORTED_NOTE, renderRecord, verificationLine } from "../render/record-view.js";
import { renderOutcomes } from "../render/outcome-view.js";

export function registerContextShow(context: Command): void {
  context
    .command("show <id>")
    .description("Show a context record: inputs, features, retrieved and dropped items, freshness, integrity")
    .option("--format <format>", "text | json", "text")
    .action(async (id: string, opts: { format?: string }, cmd: Command) => {
      const format = parseFormat(opts.format, ["text", "json"] as const, "text");
      const verification = await withLedger(projectOptions(cmd), async (ledger) => {
        if (format === "json") {
          // The stored text as it is, parsed or not.
          const { row, verification } = await ledger.verify(id);
          print(row.canonicalText);
          if (!verification.ok) process.stderr.write(`${row.contextId}\n${verificationLine(verification, row)}\n`);
          else if (row.imported) process.stderr.write(`${row.contextId}: ${IMPORTED_NOTE}\n`);
          return verification;
        }
        const { record, verification, row } = await ledger.getVerified(id);
        print(renderRecord(record, verification, row) + renderOutcomes(await ledger.outcomes(record.context_id)));
        return verification;
      });
      if (!verification.ok) process.exitCode = 1;
    });
}
