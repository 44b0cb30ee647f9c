// Importing record files into a store: every file read and verified, and checked against the ledger (and the other
// files) for an id already there with another record_hash, before anything is written. Imported rows are marked
// `imported` in the ledger, so they never pass for records this deployment produced.
import { FabraError } from "../../errors.js";
import { requireNormalContextId } from "../../record/id.js";
import type { ContextRecord } from "../../record/types.js";
import type { VerifyOptions } from "../../record/verify.js";
import type { RecordStore } from "../../stores/types.js";
import { readRecordFile } from "./record-files.js";
import { recordToRow } from "./rows.js";
import { verificationError } from "./verification-error.js";

export interface ImportOutcome {
  file: string;
  contextId: string;
  outcome: "inserted" | "exists";
}

/** All or nothing on bad input: if any file fails, nothing is written and the error names the file and the reason. */
export async function importRecordFiles(
  records: RecordStore,
  files: string[],
  opts: VerifyOptions = {},
  maxBytes?: number,
): Promise<ImportOutcome[]> {
  const checked: { file: string; record: ContextRecord }[] = [];
  for (const file of files) {
    const { record, result } = await readRecordFile(file, opts, maxBytes);
    if (!result.ok) throw verificationError(result, file, "nothing was imported");
    requireNormalContextId(record.context_id, file);
    checked.push({ file, record });
  }
  const seen = new Map<string, { file: string; hash: string }>();
  for (const { file, record } of checked) {
    const id = record.context_id;
    const hash = record.integrity.record_hash;
    const earlier = seen.get(id);
    const stored = earlier ? null : await records.get(id);
    const other = earlier
      ? { hash: earlier.hash, where: earlier.file }
      : stored
        ? { hash: stored.recordHash, where: "the ledger" }
        : null;
    if (other && other.hash !== hash) {
      throw new FabraError(
        "RECORD_CONFLICT",
        `${file}: record ${id} is already in ${other.where} with record_hash ${other.hash}, not ${hash}; nothing was imported`,
        {
          hint: "Records are immutable: an id is written once. Leave that file out to import the others.",
          details: { contextId: id, storedHash: other.hash, newHash: hash },
        },
      );
    }
    seen.set(id, { file, hash });
  }
  const outcomes: ImportOutcome[] = [];
  for (const { file, record } of checked) {
    outcomes.push({
      file,
      contextId: record.context_id,
      outcome: await records.append({ ...recordToRow(record), imported: true }),
    });
  }
  return outcomes;
}
