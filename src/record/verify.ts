// Verification: recompute a record's hashes (and signature, when a key is at hand) and say which check failed,
// with the expected (stored) and actual (recomputed) values.
import { canonicalJson } from "./canonical.js";
import { contentHash, computeRecordHash, integrityForHashing, sha256Hex } from "./hash.js";
import { parseJsonAt } from "./json.js";
import { readRecordText } from "./read.js";
import { isJsonObject } from "./json-value.js";
import { signatureMatches, type SigningKey } from "./sign.js";
import type { ContextRecord } from "./types.js";

export type CheckName = "content_hash" | "record_hash" | "signature";

export interface VerifyCheck {
  name: CheckName;
  ok: boolean;
  /** What the record claims. */
  expected: string;
  /** What recomputing gives. */
  actual: string;
  /** Set when the check could not run (e.g. no signing key configured). */
  skipped?: string;
}

export interface VerifyResult {
  ok: boolean;
  contextId: string;
  checks: VerifyCheck[];
  /** The first failing check, or null. */
  failed: VerifyCheck | null;
}

export interface VerifyOptions {
  /** Checks `integrity.signature` when given. */
  signingKey?: SigningKey | null;
  /** A record without a signature fails. */
  requireSignature?: boolean;
}

interface IntegrityFields {
  record_hash: string;
  content_hash: string;
  signature: string | null;
  signing_key_id?: string | null;
}

function result(
  contextId: string,
  integrity: IntegrityFields,
  actualContentHash: string,
  actualRecordHash: string,
  opts: VerifyOptions,
): VerifyResult {
  const checks: VerifyCheck[] = [
    { name: "content_hash", ok: integrity.content_hash === actualContentHash, expected: integrity.content_hash, actual: actualContentHash },
    { name: "record_hash", ok: integrity.record_hash === actualRecordHash, expected: integrity.record_hash, actual: actualRecordHash },
  ];
  const signature = integrity.signature;
  if (signature !== null || opts.requireSignature) {
    if (signature === null) {
      checks.push({ name: "signature", ok: false, expected: "a signature", actual: "none" });
    } else if (!opts.signingKey) {
      checks.push({ name: "signature", ok: true, expected: signature, actual: "", skipped: "no signing key configured (FABRA_SIGNING_KEY)" });
    } else if (integrity.signing_key_id && integrity.signing_key_id !== opts.signingKey.id) {
      checks.push({
        name: "signature",
        ok: true,
        expected: signature,
        actual: "",
        skipped: `signed with key ${integrity.signing_key_id}, configured key is ${opts.signingKey.id}`,
      });
    } else {
      const ok = signatureMatches(actualRecordHash, signature, opts.signingKey);
      checks.push({ name: "signature", ok, expected: signature, actual: ok ? signature : "(does not match the key)" });
    }
  }
  const failed = checks.find((c) => !c.ok) ?? null;
  return { ok: failed === null, contextId, checks, failed };
}

/** Verifies a record already read into memory. */
export function verifyRecord(record: ContextRecord, opts: VerifyOptions = {}): VerifyResult {
  return result(record.context_id, record.integrity, contentHash(record.content), computeRecordHash(record), opts);
}

/** Parses, checks and verifies record text from anywhere (a file, another implementation). */
export function verifyRecordText(text: string, source = "input", opts: VerifyOptions = {}): { record: ContextRecord; result: VerifyResult } {
  const record = readRecordText(text, source);
  return { record, result: verifyRecord(record, opts) };
}

const INTEGRITY_KEY = '"integrity":{';
const CONTENT_KEY = ',"content":"';

/**
 * Verifies a record stored in canonical form (a ledger row) without parsing the whole record, so the cost is
 * mostly hashing. Canonical text sorts keys, so the top-level `integrity` object is the last one in the text
 * (only fixed-schema fields, which hold no such key, come after it), and the first `,"content":"` is the
 * top-level content (only `assembly` comes before it). Text that is not canonical simply fails the hash check.
 */
export function verifyCanonicalText(text: string, contextId: string, opts: VerifyOptions = {}): VerifyResult {
  const at = text.lastIndexOf(INTEGRITY_KEY);
  const contentAt = text.indexOf(CONTENT_KEY);
  if (at < 0 || contentAt < 0) return verifyRecordText(text, contextId, opts).result;
  const objectStart = at + INTEGRITY_KEY.length - 1;
  const { value: integrity, end } = parseJsonAt(text, objectStart);
  const { value: content } = parseJsonAt(text, contentAt + CONTENT_KEY.length - 1);
  if (!isJsonObject(integrity) || typeof content !== "string") return verifyRecordText(text, contextId, opts).result;
  const hashing = text.slice(0, objectStart) + canonicalJson(integrityForHashing(integrity)) + text.slice(end);
  return result(contextId, integrity as unknown as IntegrityFields, contentHash(content), "sha256:" + sha256Hex(hashing), opts);
}
