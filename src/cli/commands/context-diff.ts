// `fabra context diff <A> <B> [--format text|json]`: verify both records, then show what differs between them.
// A and B are context ids (from the ledger) or paths to record files. Exit 1 when either fails verification.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { FabraError } from "../../errors.js";
import { compareRecords, loadVerified, loadVerifiedFile, type VerifiedRecord } from "../../engine/ledger/compare.js";
import { comparisonJson } from "../../api/shapes.js";
import { withRecordStore } from "../../app/project.js";
import { normalizeContextId } from "../../record/id.js";
import { toJsonText } from "../../record/json.js";
import { verifyOptionsFromEnv } from "../../record/verify-env.js";
import type { RecordStore } from "../../stores/types.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { renderDiff } from "../render/diff-view.js";

export function registerContextDiff(context: Command): void {
  context
    .command("diff <a> <b>")
    .description("Verify two records and show what differs: inputs, features, chunks, drops, content, tokens and cost")
    .option("--format <format>", "text | json", "text")
    .action(async (a: string, b: string, flags: { format?: string }, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      const opts = verifyOptionsFromEnv();
      const refs = [a, b].map((ref): { file: string } | { id: string } => (isRecordFile(ref) ? { file: ref } : { id: normalizeContextId(ref) }));
      const loadAll = (records: RecordStore | null) =>
        Promise.all(refs.map((r) => ("file" in r ? loadVerifiedFile(r.file, opts) : loadVerified(records as RecordStore, r.id, opts))));
      const [ra, rb] = refs.some((r) => "id" in r) ? await withRecordStore(projectOptions(cmd), loadAll) : await loadAll(null);
      const comparison = compareRecords(ra as VerifiedRecord, rb as VerifiedRecord);
      print(format === "json" ? toJsonText(comparisonJson(comparison), 2) : renderDiff(comparison.diff, comparison.verification));
      if (!comparison.verified) process.exitCode = 1;
    });
}

/** A record file rather than an id: not shaped like an id, and present on disk (or named like a .json file). */
function isRecordFile(ref: string): boolean {
  try {
    normalizeContextId(ref);
    return false;
  } catch {
    if (existsSync(ref) || ref.endsWith(".json")) return true;
    throw new FabraError("INVALID_ID", `${JSON.stringify(ref)} is neither a context id nor a record file`, {
      hint: "Name each side by id (ctx_0190a1b2-..., or the bare UUID; `fabra context list` shows them) or by the path of a record JSON file.",
    });
  }
}
