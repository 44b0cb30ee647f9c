// The fast path of stored-record verification, on the stored text's UTF-8 bytes. It may only confirm: first the
// text must be exactly the canonical text of a valid record filed under the row's id (canonical-gate.ts: a real
// parse, the CRS-001 schema and key set, no key twice, no deeper than the full path reads). Then the top-level `integrity` object
// and `content` string are found by byte search, record_hash is taken over the bytes with only the integrity
// object's blanked fields swapped for their hashing form, and content_hash over the content's decoded UTF-8; no
// string is built for the record. Canonical text is printable ASCII (every other character is \uXXXX-escaped); the
// searched-for bytes are ASCII, which never occur inside a multi-byte UTF-8 sequence, so other UTF-8 text is searched
// just as correctly (and fails its hash). It only ever confirms a row: whatever it does not recognize, or finds
// wrong, is left to the full path (stored-full.ts), which decides. Private to verify.ts (`verifyStored` with `fast`).
import { createHash } from "node:crypto";
import { quoteString } from "../canonical.js";
import { normalizeDatetime } from "../datetime.js";
import { sha256Hex } from "../hash.js";
import type { IntegrityRecord } from "../types.js";
import { canonicalRecordAt } from "./canonical-gate.js";
import { verifyResult, type VerifyOptions, type VerifyResult } from "./result.js";
import { closingQuote, unescapeUtf8 } from "./string-bytes.js";

const INTEGRITY_KEY = Buffer.from('"integrity":{', "latin1");
const CONTENT_KEY = Buffer.from(',"content":"', "latin1");

/** Reused for the decoded content (sync code: one verification at a time). */
let contentBuffer: Buffer = Buffer.allocUnsafeSlow(1 << 14);

function atLeast(buffer: Buffer, size: number): Buffer {
  if (buffer.length >= size) return buffer;
  let n = buffer.length;
  while (n < size) n *= 2;
  return Buffer.allocUnsafeSlow(n);
}

const isNullOrString = (v: unknown): v is string | null => v === null || typeof v === "string";
const quoteOrNull = (v: string | null): string => (v === null ? "null" : quoteString(v));

function isNormalDatetime(text: string): boolean {
  try {
    return normalizeDatetime(text) === text;
  } catch {
    return false;
  }
}

const RECORD_HASH_MEMBER = ',"record_hash":"';
/** What follows `"record_hash":"` in the hashing form of a canonical integrity object. */
const HASHING_TAIL = Buffer.from('","signature":null,"signed_at":null}', "latin1");

// A canonical integrity object whose strings need no escapes (what fabra writes): one match reads it. A string that
// does need one is read by readIntegrityEscaped.
const PLAIN = `"([ !#-\\[\\]-~]*)"`;
const PLAIN_OR_NULL = `(?:null|${PLAIN})`;
const PLAIN_INTEGRITY = new RegExp(
  `^\\{"content_hash":${PLAIN},"previous_context_id":${PLAIN_OR_NULL},"record_hash":${PLAIN},"signature":${PLAIN_OR_NULL},` +
    `"signed_at":${PLAIN_OR_NULL}(,"signing_key_id":${PLAIN_OR_NULL})?\\}$`,
);

interface StoredIntegrity {
  integrity: IntegrityRecord;
  /** The length of the object's text up to and including `"record_hash":"`, which its hashing form shares. */
  sharedLength: number;
}

/**
 * The stored integrity object, when it is exactly the canonical text of a valid one (as the full path requires);
 * otherwise null. Canonical key order: content_hash, previous_context_id, record_hash, signature, signed_at,
 * signing_key_id.
 */
function readIntegrity(stored: string): StoredIntegrity | null {
  const m = PLAIN_INTEGRITY.exec(stored);
  if (!m) return readIntegrityEscaped(stored);
  const [, contentHash, previous, recordHash, signature, signedAt, keyIdMember, keyId] = m as unknown as (
    | string
    | undefined
  )[];
  const signed_at = signedAt ?? null;
  if (signed_at !== null && !isNormalDatetime(signed_at)) return null;
  const integrity: IntegrityRecord = {
    record_hash: recordHash as string,
    content_hash: contentHash as string,
    previous_context_id: previous ?? null,
    signed_at,
    signature: signature ?? null,
  };
  if (keyIdMember !== undefined) integrity.signing_key_id = keyId ?? null;
  // The strings before it hold no quote, so the first `,"record_hash":"` is the member itself.
  return { integrity, sharedLength: stored.indexOf(RECORD_HASH_MEMBER) + RECORD_HASH_MEMBER.length };
}

/** readIntegrity for text with escapes: parsed, checked, and compared with its canonical form. */
function readIntegrityEscaped(stored: string): StoredIntegrity | null {
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const { content_hash, previous_context_id, record_hash, signature, signed_at, signing_key_id } = v;
  if (typeof content_hash !== "string" || typeof record_hash !== "string") return null;
  if (!isNullOrString(previous_context_id) || !isNullOrString(signature) || !isNullOrString(signed_at)) return null;
  const hasKeyId = Object.hasOwn(v, "signing_key_id");
  if (hasKeyId && !isNullOrString(signing_key_id)) return null;
  if (signed_at !== null && !isNormalDatetime(signed_at)) return null;
  const shared = `{"content_hash":${quoteString(content_hash)},"previous_context_id":${quoteOrNull(previous_context_id)},"record_hash":"`;
  const canonical =
    shared +
    quoteString(record_hash).slice(1) +
    `,"signature":${quoteOrNull(signature)},"signed_at":${quoteOrNull(signed_at)}` +
    (hasKeyId ? `,"signing_key_id":${quoteOrNull(signing_key_id as string | null)}` : "") +
    "}";
  // Equal text also rules out any other key, a repeated key, whitespace and escapes canonical form does not use.
  if (canonical !== stored) return null;
  const integrity: IntegrityRecord = { record_hash, content_hash, previous_context_id, signed_at, signature };
  if (hasKeyId) integrity.signing_key_id = signing_key_id as string | null;
  return { integrity, sharedLength: shared.length };
}

/** The end (just past its `}`) of the object starting at `start` whose values hold no object or array, or -1. */
function flatObjectEnd(bytes: Buffer, start: number): number {
  for (let i = start + 1; ; ) {
    const quote = bytes.indexOf(0x22, i);
    const brace = bytes.indexOf(0x7d, i);
    if (brace < 0) return -1;
    if (quote < 0 || brace < quote) return brace + 1;
    i = closingQuote(bytes, quote + 1) + 1;
    if (i === 0) return -1;
  }
}

/** Whether `needle` is at `at` in `bytes`. */
function bytesAt(bytes: Buffer, at: number, needle: Buffer): boolean {
  if (at < 0 || at + needle.length > bytes.length) return false;
  for (let j = 0; j < needle.length; j++) if (bytes[at + j] !== needle[j]) return false;
  return true;
}

/**
 * Where the last `"integrity":{` starts, or -1. Found through the `{` bytes from the end (a native search for the
 * whole needle is slower on record text), so the same match as lastIndexOf.
 */
function lastIntegrityKey(bytes: Buffer): number {
  for (let brace = bytes.length; ; ) {
    brace = brace > 0 ? bytes.lastIndexOf(0x7b, brace - 1) : -1;
    if (brace < 0) return -1;
    const at = brace + 1 - INTEGRITY_KEY.length;
    if (bytesAt(bytes, at, INTEGRITY_KEY)) return at;
  }
}

/** Where the first `,"content":"` that follows a `}` starts, or -1 (in canonical text, the top-level one). */
function firstContentKey(bytes: Buffer, before: number): number {
  for (let brace = -1; ; ) {
    brace = bytes.indexOf(0x7d, brace + 1);
    if (brace < 0 || brace >= before) return -1;
    if (bytesAt(bytes, brace + 1, CONTENT_KEY)) return brace + 1;
  }
}

/** How the fast path may treat the bytes it is given. */
export interface FastPathOptions {
  /**
   * The bytes are the caller's own copy, read for nothing else afterwards (a row fresh from a scan): the hashing
   * text is built in them rather than hashed in pieces. They are left changed when the row verifies, and restored
   * when it goes to the full path.
   */
  scratch?: boolean;
  /** The same text as a string, when the caller has it (saves decoding the bytes again). */
  text?: string;
}

/** The swapped-out tail of the integrity object while the hashing text is built in place (sync: one at a time). */
let savedTail: Buffer = Buffer.allocUnsafeSlow(1 << 10);

/**
 * Builds the hashing text in `text` itself, in place of `text[shared, end)` (the stored tail of the integrity
 * object, never shorter than the hashing form's): the shorter side of the text moves up to the new tail. Returns
 * where the hashing text lies in `text`; restoreInPlace undoes it.
 */
function hashingTextInPlace(text: Buffer, shared: number, end: number): [number, number] {
  const cut = end - shared - HASHING_TAIL.length;
  savedTail = atLeast(savedTail, end - shared);
  text.copy(savedTail, 0, shared, end);
  if (shared <= text.length - end) {
    text.copyWithin(cut, 0, shared);
    HASHING_TAIL.copy(text, shared + cut);
    return [cut, text.length];
  }
  HASHING_TAIL.copy(text, shared);
  text.copyWithin(shared + HASHING_TAIL.length, end);
  return [0, text.length - cut];
}

function restoreInPlace(text: Buffer, shared: number, end: number): void {
  const cut = end - shared - HASHING_TAIL.length;
  if (shared <= text.length - end) text.copyWithin(0, cut, shared + cut);
  else text.copyWithin(end, shared + HASHING_TAIL.length, text.length - cut);
  savedTail.copy(text, shared, 0, end - shared);
}

/**
 * Verifies stored canonical record bytes; returns the result when every check passes (the same result the full
 * path gives), or null when the full path must decide. Why the byte searches find the top-level members in
 * canonical text: keys are sorted, so only `assembly` (fixed fields, none named `content`) precedes the top-level
 * `content`, and only fixed-schema members (lineage, retrieved_items, schema_version, token_count), which hold no
 * object under a key ending in `integrity`, follow the top-level `integrity`; and inside a string every quote is
 * escaped, so `"integrity":{` and `,"content":"` cannot start within one. Text that is not canonical cannot reach
 * a match of both hashes unless someone hashed those very bytes.
 */
export function verifyStoredFast(
  bytes: Uint8Array,
  contextId: string,
  opts: VerifyOptions = {},
  fast: FastPathOptions = {},
): VerifyResult | null {
  const text = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Only text that is exactly a valid record's canonical form, under this id, is the fast path's to confirm.
  if (canonicalRecordAt(fast.text ?? text.toString("utf8"), contextId) === null) return null;
  const keyAt = lastIntegrityKey(text);
  if (keyAt < 0) return null;
  const start = keyAt + INTEGRITY_KEY.length - 1;
  // The integrity object holds only strings and nulls, so it ends at its first `}` unless a string holds one (then
  // the text up to that `}` does not parse, and the strings are stepped over).
  let end = text.indexOf(0x7d, start) + 1;
  if (end === 0) return null;
  let read = readIntegrity(text.toString("latin1", start, end));
  if (!read) {
    const after = flatObjectEnd(text, start);
    if (after === end || after < 0) return null;
    end = after;
    read = readIntegrity(text.toString("latin1", start, end));
    if (!read) return null;
  }

  const contentAt = firstContentKey(text, keyAt);
  if (contentAt < 0) return null;
  const bodyStart = contentAt + CONTENT_KEY.length;
  const bodyEnd = closingQuote(text, bodyStart);
  if (bodyEnd < 0 || bodyEnd > keyAt) return null;
  let content: Uint8Array;
  const slash = text.indexOf(0x5c, bodyStart);
  if (slash < 0 || slash >= bodyEnd) {
    content = text.subarray(bodyStart, bodyEnd);
  } else {
    contentBuffer = atLeast(contentBuffer, bodyEnd - bodyStart);
    const n = unescapeUtf8(text, bodyStart, bodyEnd, contentBuffer);
    if (n < 0) return null;
    content = contentBuffer.subarray(0, n);
  }
  const actualContentHash = "sha256:" + sha256Hex(content); // before the text may change below

  // The hashing text: the stored bytes with the integrity object's tail after `"record_hash":"` swapped for the
  // hashing form's.
  const shared = start + read.sharedLength;
  let actualRecordHash: string;
  if (fast.scratch) {
    const [from, to] = hashingTextInPlace(text, shared, end);
    actualRecordHash = "sha256:" + sha256Hex(text.subarray(from, to));
  } else {
    actualRecordHash =
      "sha256:" +
      createHash("sha256")
        .update(text.subarray(0, shared))
        .update(HASHING_TAIL)
        .update(text.subarray(end))
        .digest("hex");
  }

  const result = verifyResult(contextId, read.integrity, actualContentHash, actualRecordHash, opts);
  if (result.ok) return result;
  if (fast.scratch) restoreInPlace(text, shared, end);
  return null;
}
