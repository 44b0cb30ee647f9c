// `fabra context diff <A> <B> [--format text|json]`: verify both records, then show what differs between them.
// A and B are context ids or sha256: record hashes (from the ledger) or paths to record files. Exit 1 when either fails verification.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { FabraError } from "../../errors.js";
import type { RecordRef } from "../../engine/ledger/ledger.js";
import { comparisonJson } from "../../api/shapes.js";
import { withLedger } from "../../app/project.js";
import { parseLedgerRef } from "../../engine/ledger/record-ref.js";
import { toJsonText } from "../../record/json.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { renderDiff } from "../render/diff-view.js";

export function registerContextDiff(context: Command): void {
  context
    .command("diff <a> <b>")
    .description("Verify two records and show what differs: inputs, features, chunks, drops, content, tokens and cost")
    .option("--format <format>", "text | json", "text")
    .action(async (a: string, b: string, flags: { format?: string }, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      const [ra, rb] = [a, b].map((ref): RecordRef => (isRecordFile(ref) ? { file: ref } : { id: ref })) as [
        RecordRef,
        RecordRef,
      ];
      // Verified with the project's signing settings, like `verify`; the ledger opens only when an id is given.
      const comparison = await withLedger(projectOptions(cmd), (ledger) => ledger.diff(ra, rb));
      print(
        format === "json"
          ? toJsonText(comparisonJson(comparison), 2)
          : renderDiff(comparison.diff, comparison.verification),
      );
      if (!comparison.verified) process.exitCode = 1;
    });
}

/** A record file rather than an id: not shaped like an id, and present on disk (or named like a .json file). */
function isRecordFile(ref: string): boolean {
  try {
    parseLedgerRef(ref);
    return false;
  } catch {
    if (existsSync(ref) || ref.endsWith(".json")) return true;
    throw new FabraError("INVALID_ID", `${JSON.stringify(ref)} is neither a context id nor a record file`, {
      hint: "Name each side by id (ctx_0190a1b2-..., the bare UUID, or sha256:<record hash>; `fabra context list` shows them) or by the path of a record JSON file.",
    });
  }
}
