// The fast path of stored-record verification, on the stored text's UTF-8 bytes. It may only confirm: the canonical
// scan (canonical-scan.ts) must first prove the bytes are exactly the canonical text of a valid record filed under the
// row's id, and it says where the content string and the integrity object lie. Then record_hash is taken over the
// bytes with only the integrity object's blanked fields swapped for their hashing form, and content_hash over the
// content's decoded UTF-8; no string is built for the record, and nothing is parsed twice. Whatever the scan does not
// prove, or whose hashes do not match, is left to the full path (stored-full.ts), which decides. Private to
// verify.ts (`verifyStored` with `fast`).
import { createHash } from "node:crypto";
import { sha256Hex } from "../hash.js";
import { scanCanonical } from "./canonical-scan.js";
import { verifyResult, type VerifyOptions, type VerifyResult } from "./result.js";
import { unescapeUtf8 } from "./string-bytes.js";

/** Reused for the decoded content (sync code: one verification at a time). */
let contentBuffer: Buffer = Buffer.allocUnsafeSlow(1 << 14);

function atLeast(buffer: Buffer, size: number): Buffer {
  if (buffer.length >= size) return buffer;
  let n = buffer.length;
  while (n < size) n *= 2;
  return Buffer.allocUnsafeSlow(n);
}

/** What follows `"record_hash":"` in the hashing form of a canonical integrity object. */
const HASHING_TAIL = Buffer.from('","signature":null,"signed_at":null}', "latin1");

/**
 * Builds the hashing text in `text` itself (the scan's own copy), in place of `text[shared, end)` (the stored tail of
 * the integrity object, never shorter than the hashing form's): the shorter side of the text moves up to the new
 * tail. Returns where the hashing text lies in `text`.
 */
function hashingTextInPlace(text: Buffer, shared: number, end: number): [number, number] {
  const cut = end - shared - HASHING_TAIL.length;
  if (shared <= text.length - end) {
    text.copyWithin(cut, 0, shared);
    HASHING_TAIL.copy(text, shared + cut);
    return [cut, text.length];
  }
  HASHING_TAIL.copy(text, shared);
  text.copyWithin(shared + HASHING_TAIL.length, end);
  return [0, text.length - cut];
}

/**
 * Verifies stored canonical record bytes; returns the result when every check passes (the same result the full
 * path gives), or null when the full path must decide. `bytes` are never changed (the scan works on its own copy).
 */
export function verifyStoredFast(bytes: Uint8Array, contextId: string, opts: VerifyOptions = {}): VerifyResult | null {
  const scan = scanCanonical(bytes, contextId);
  if (scan === null) return null;
  const text = scan.bytes;
  let content: Uint8Array;
  if (!scan.contentEscaped) {
    content = text.subarray(scan.contentStart, scan.contentEnd);
  } else {
    contentBuffer = atLeast(contentBuffer, scan.contentEnd - scan.contentStart);
    const n = unescapeUtf8(text, scan.contentStart, scan.contentEnd, contentBuffer);
    if (n < 0) return null; // a lone surrogate: not well-formed content; the full path says so
    content = contentBuffer.subarray(0, n);
  }
  const actualContentHash = "sha256:" + sha256Hex(content); // before the text changes below
  let actualRecordHash: string;
  if (scan.integrityEnd - scan.sharedEnd >= HASHING_TAIL.length) {
    const [from, to] = hashingTextInPlace(text, scan.sharedEnd, scan.integrityEnd);
    actualRecordHash = "sha256:" + sha256Hex(text.subarray(from, to));
  } else {
    // A tail shorter than the hashing form's (`"signature":""` and an empty record_hash): hashed in pieces.
    actualRecordHash = `sha256:${createHash("sha256")
      .update(text.subarray(0, scan.sharedEnd))
      .update(HASHING_TAIL)
      .update(text.subarray(scan.integrityEnd))
      .digest("hex")}`;
  }
  const result = verifyResult(contextId, scan.integrity, actualContentHash, actualRecordHash, opts);
  return result.ok ? result : null;
}
