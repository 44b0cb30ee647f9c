// Sealing a record: its hashes filled in (and its signature, when a key is given) and its canonical text, the text the
// ledger stores, built once. The hashing text and the stored text differ only in the integrity object, so the rest of
// the record is serialized one time for both.
import { FabraError } from "../errors.js";
import { canonicalJson, compareCodePoints, quoteString } from "./canonical.js";
import { contentHash, integrityForHashing, recordToJsonValue, sha256Hex } from "./hash.js";
import type { JsonObject } from "./json.js";
import { signRecord, type SigningKey } from "./sign.js";
import type { ContextRecord } from "./types.js";
import { isWellFormed } from "./unicode.js";

/** A sealed record and its canonical text (equal to `canonicalRecordText(record)`). */
export interface SealedRecord {
  readonly record: ContextRecord;
  readonly canonicalText: string;
}

export interface SealOptions {
  /** Signs the sealed record with this key; a signature never changes record_hash. */
  signingKey?: SigningKey | null;
  /** When the signature is made (normal-form datetime); now by default. */
  signedAt?: string;
}

/**
 * Fills in content_hash and record_hash, signs the record when a key is given, and returns it with its canonical
 * text. Everything else must already be in normal form. The integrity fields are kept as given (a signature already
 * there stays, as signing_key_id does): sealing recomputes the hashes, it does not judge the record.
 */
export function sealRecord(record: ContextRecord, options: SealOptions = {}): SealedRecord {
  if (!isWellFormed(record.content)) {
    throw new FabraError("INVALID_RECORD", "The record's content has a lone surrogate (not well-formed Unicode)", {
      hint: "Make the text well-formed first (toWellFormed); a lone surrogate has no UTF-8 form, so it cannot be hashed.",
    });
  }
  const withContent: ContextRecord = {
    ...record,
    integrity: { ...record.integrity, content_hash: contentHash(record.content) },
  };
  const [before, after] = canonicalAround(recordToJsonValue(withContent), "integrity");
  const hashing = before + canonicalJson(integrityForHashing(withContent.integrity)) + after;
  let sealed: ContextRecord = {
    ...withContent,
    integrity: { ...withContent.integrity, record_hash: "sha256:" + sha256Hex(hashing) },
  };
  if (options.signingKey) sealed = signRecord(sealed, options.signingKey, options.signedAt);
  return {
    record: sealed,
    canonicalText: before + canonicalJson({ ...(sealed.integrity as unknown as JsonObject) }) + after,
  };
}

/**
 * The canonical text of `object` around the value of its member `key`: the text before that value (through `"key":`)
 * and after it, so that before + canonicalJson(value) + after is canonicalJson(object) for any value.
 */
function canonicalAround(object: JsonObject, key: string): [string, string] {
  const lower: JsonObject = {};
  const upper: JsonObject = {};
  for (const [k, v] of Object.entries(object)) {
    if (k === key) continue;
    if (compareCodePoints(k, key) < 0) lower[k] = v;
    else upper[k] = v;
  }
  const head = canonicalJson(lower); // "{...}", "{}" when nothing sorts before the key
  const tail = canonicalJson(upper);
  const before = (head === "{}" ? "{" : head.slice(0, -1) + ",") + quoteString(key) + ":";
  const after = tail === "{}" ? "}" : "," + tail.slice(1);
  return [before, after];
}
