// Verifying CRS-001 records, the one API: `verifyRecord` for a record read into memory, `verifyStored` for a record as
// stored (its canonical text or bytes: a ledger row), and `readRecordText` to read record text from anywhere. Each
// check says what the record claims (expected) and what recomputing gives (actual). The parts are in verify/.
import { computeRecordHash, contentHash } from "./hash.js";
import { parseJson } from "./json.js";
import { recordFromJson } from "./schema.js";
import type { ContextRecord } from "./types.js";
import { verifyResult, type VerifyOptions, type VerifyResult } from "./verify/result.js";
import { verifyStoredFast } from "./verify/stored-fast.js";
import { verifyStoredFull } from "./verify/stored-full.js";

export type { CheckName, VerifyCheck, VerifyOptions, VerifyResult } from "./verify/result.js";
/** For checks a caller adds on top (the ledger's indexed columns): the result with record_hash failed. */
export { failRecordHash } from "./verify/result.js";

/**
 * Parses record text (canonical or pretty-printed, a file, another implementation) into a checked, normalized
 * record; throws INVALID_JSON / INVALID_RECORD naming where. A key twice in one object is refused: the record shown
 * must be the record hashed.
 */
export function readRecordText(text: string, source = "input"): ContextRecord {
  return recordFromJson(parseJson(text, source, { uniqueKeys: true }));
}

/** Verifies a record read into memory: both hashes recomputed from its fields, and its signature. */
export function verifyRecord(record: ContextRecord, opts: VerifyOptions = {}): VerifyResult {
  return verifyResult(
    record.context_id,
    record.integrity,
    contentHash(record.content),
    computeRecordHash(record),
    opts,
  );
}

/** How `verifyStored` goes about it; for the ledger's bulk verification, not needed otherwise. */
export interface VerifyStoredInternal {
  /**
   * Try the fast byte path first (`verify --all`): it only ever confirms, for a row whose bytes the canonical scan
   * proves to be exactly the canonical text of a valid record filed under `contextId` and whose hashes match (the
   * result the full path gives too); every other row goes to the full parse, which decides.
   */
  fast?: boolean;
  /**
   * Kept for callers that hand over their own copy of the bytes; no longer needed: the fast path scans and hashes a
   * copy of its own and never changes `stored`.
   */
  scratch?: boolean;
  /**
   * Set by `verifyStored` when the fast path confirmed the row: the canonical scan then proved the record's own
   * context_id is `contextId`, so a caller need not read it again.
   */
  confirmedFast?: boolean;
}

/**
 * Verifies a record as stored in canonical form (a ledger row), byte for byte: its record_hash is recomputed over the
 * stored text itself (only the integrity fields CRS-001 leaves out are blanked), so text that is not canonical fails,
 * as does a key twice in one object. Never throws for bad text: an unreadable row fails record_hash with the reason.
 * `contextId` is the id the row is filed under, named in the result.
 */
export function verifyStored(
  stored: string | Uint8Array,
  contextId: string,
  opts: VerifyOptions = {},
  internal: VerifyStoredInternal = {},
): VerifyResult {
  const isText = typeof stored === "string";
  if (internal.fast) {
    const result = verifyStoredFast(isText ? Buffer.from(stored, "utf8") : stored, contextId, opts);
    internal.confirmedFast = result !== null;
    if (result) return result;
  }
  const text = isText ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString("utf8");
  return verifyStoredFull(text, contextId, opts);
}
