// `fabra context show <id>`: one record and the model-call outcomes linked to it, as readable text or as JSON
// (`{"record": <the stored canonical text, byte for byte>, "outcomes": [<entries as GET /v1/contexts/:id/outcomes
// gives them>]}`); exit 1 when the record fails verification (the text view says why; with --format json the reason
// goes to stderr).
import type { Command } from "commander";
import { outcomeJson } from "../../api/outcomes.js";
import { withLedger } from "../../app/project.js";
import { toJsonText } from "../../record/json.js";
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
          const { row, verification } = await ledger.verify(id);
          const outcomes = toJsonText((await ledger.outcomes(row.contextId)).map(outcomeJson));
          const record = recordJson(row.canonicalText);
          print(`{"context_id":${JSON.stringify(row.contextId)},"record":${record},"outcomes":${outcomes}}`);
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

/**
 * The stored text as the `record` member: spliced in byte for byte when it is JSON (so it is exactly the canonical
 * text that was hashed), or, for a row that does not even parse, null with the text beside it as a string.
 */
function recordJson(stored: string): string {
  try {
    JSON.parse(stored);
    return stored;
  } catch {
    return `null,"stored_text":${JSON.stringify(stored)}`;
  }
}
