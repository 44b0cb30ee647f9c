// Verification: recompute a record's hashes (and signature, when a key is at hand) and say which check failed,
// with the expected (stored) and actual (recomputed) values.
import { contentHash, computeRecordHash } from "./hash.js";
import { readRecordText } from "./read.js";
import type { ContextRecord } from "./types.js";
import { verifyStoredBytesFast, type FastPathOptions } from "./verify-bytes.js";
import { verifyResult, type VerifyOptions, type VerifyResult } from "./verify-result.js";
import { verifyStoredTextFull } from "./verify-stored.js";

export type { CheckName, VerifyCheck, VerifyOptions, VerifyResult } from "./verify-result.js";
export type { FastPathOptions } from "./verify-bytes.js";

/** Verifies a record already read into memory. */
export function verifyRecord(record: ContextRecord, opts: VerifyOptions = {}): VerifyResult {
  return verifyResult(record.context_id, record.integrity, contentHash(record.content), computeRecordHash(record), opts);
}

/** Parses, checks and verifies record text from anywhere (a file, another implementation). */
export function verifyRecordText(text: string, source = "input", opts: VerifyOptions = {}): { record: ContextRecord; result: VerifyResult } {
  const record = readRecordText(text, source);
  return { record, result: verifyRecord(record, opts) };
}

/**
 * Verifies a record as stored in canonical form (a ledger row), byte for byte: its record_hash is recomputed over
 * the stored text itself (only the integrity fields CRS-001 leaves out are blanked), so text that is not canonical
 * fails. Intact rows take the fast byte path; anything else is decided by parsing the whole text. Never throws for
 * bad text: an unreadable row fails record_hash with the reason.
 */
export function verifyCanonicalText(text: string, contextId: string, opts: VerifyOptions = {}): VerifyResult {
  return verifyStoredBytesFast(Buffer.from(text, "utf8"), contextId, opts) ?? verifyStoredTextFull(text, contextId, opts);
}

/**
 * verifyCanonicalText for the stored text's UTF-8 bytes, as a store can hand them over without decoding. With
 * `scratch`, the bytes are the caller's own copy and may be left changed (see FastPathOptions).
 */
export function verifyCanonicalBytes(bytes: Uint8Array, contextId: string, opts: VerifyOptions = {}, fast: FastPathOptions = {}): VerifyResult {
  const fastResult = verifyStoredBytesFast(bytes, contextId, opts, fast);
  if (fastResult) return fastResult;
  return verifyStoredTextFull(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"), contextId, opts);
}
