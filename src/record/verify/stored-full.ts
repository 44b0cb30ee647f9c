// Verifying a record as stored (a ledger row: the record's exact canonical text), the full way: the text is parsed
// whole and checked as a CRS-001 record, and its stored bytes are hashed. This is what `verifyStored` does, the
// reference the fast byte path (stored-fast.ts) must agree with, and what decides every row that path does not accept.
import { FabraError } from "../../errors.js";
import { canonicalJson } from "../canonical.js";
import { contentHash, integrityForHashing, sha256Hex } from "../hash.js";
import { parseJsonObjectSpans, type JsonObject } from "../json.js";
import { recordFromJson } from "../schema.js";
import { failRecordHash, verifyResult, type VerifyOptions, type VerifyResult } from "./result.js";

/** Says why stored text cannot be verified at all (not JSON, not a CRS-001 record). */
function unreadableResult(contextId: string, reason: string): VerifyResult {
  const failed = { name: "record_hash" as const, ok: false, expected: "a CRS-001 record", actual: reason };
  return { ok: false, contextId, checks: [failed], failed };
}

/**
 * Verifies stored record text. record_hash is recomputed over the stored bytes themselves, with only the top-level
 * `integrity` object replaced by its hashing form (record_hash "", no signature), so a change to any other byte,
 * including one that keeps the same record in another spelling (whitespace, key order, escapes), fails it. The
 * integrity object itself must be in canonical form. Text that is not a CRS-001 record fails record_hash with the
 * reason as `actual`; it never throws for bad text, so `verify --all` reports the row and goes on.
 */
export function verifyStoredFull(text: string, contextId: string, opts: VerifyOptions = {}): VerifyResult {
  let parsed: ReturnType<typeof parseJsonObjectSpans>;
  let record: ReturnType<typeof recordFromJson>;
  try {
    parsed = parseJsonObjectSpans(text, contextId);
    record = recordFromJson(parsed.value);
  } catch (err) {
    if (err instanceof FabraError && (err.code === "INVALID_JSON" || err.code === "INVALID_RECORD"))
      return unreadableResult(contextId, err.message);
    throw err;
  }
  const span = parsed.spans.get("integrity");
  if (!span) return unreadableResult(contextId, "no integrity object"); // the schema requires one; kept for the type
  const integrity = record.integrity as unknown as JsonObject;
  const hashing = text.slice(0, span[0]) + canonicalJson(integrityForHashing(integrity)) + text.slice(span[1]);
  const result = verifyResult(
    contextId,
    record.integrity,
    contentHash(record.content),
    "sha256:" + sha256Hex(hashing),
    opts,
  );
  if (result.ok && text.slice(span[0], span[1]) !== canonicalJson(integrity)) {
    return failRecordHash(result, record.integrity.record_hash, "the stored integrity object is not in canonical form");
  }
  return result;
}
