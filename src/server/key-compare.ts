// Which of a server's keys a presented key is, in constant time: no early exit, and the time taken does not depend
// on the keys' contents or lengths (only on whether the presented key is longer than FIXED_BYTES, which its sender
// knows). Keys up to FIXED_BYTES are compared as fixed-size buffers (byte length, then the bytes, zero-padded) with
// timingSafeEqual; longer ones by their SHA-256 digests. Padding instead of hashing: a SHA-256 per request costs
// several times the compare itself (OpenSSL's per-call setup), on every authenticated request.
import * as crypto from "node:crypto";

/** Keys of up to this many UTF-8 bytes are compared padded; the per-run local token is 64. */
export const FIXED_BYTES = 128;
const LENGTH_BYTES = 2;
const FORM_BYTES = LENGTH_BYTES + FIXED_BYTES;

// crypto.hash (Node >= 20.12) is the one-shot form, about twice as fast as createHash.
const digest: (key: string) => Buffer =
  typeof crypto.hash === "function"
    ? (key) => crypto.hash("sha256", key, "buffer")
    : (key) => crypto.createHash("sha256").update(key, "utf8").digest();

/** `key` as its fixed-size form, written into `into` (byte length first, zero-padded): false when it is too long. */
function writeFixedForm(key: string, into: Buffer): boolean {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short keys (the usual) need no byteLength pass.
  if (key.length > FIXED_BYTES || (key.length * 3 > FIXED_BYTES && Buffer.byteLength(key, "utf8") > FIXED_BYTES))
    return false;
  into.fill(0);
  into.writeUInt16BE(into.write(key, LENGTH_BYTES, "utf8"), 0);
  return true;
}

/**
 * A function telling which of `keys` (its index) a presented key equals, or -1. Every key of the presented key's
 * class (short or long) is compared, whatever matched; the first equal one's index is returned.
 */
export function keyMatcher(keys: readonly string[]): (presented: string) => number {
  const short: { index: number; form: Buffer }[] = [];
  const long: { index: number; form: Buffer }[] = [];
  keys.forEach((key, index) => {
    const form = Buffer.alloc(FORM_BYTES);
    if (writeFixedForm(key, form)) short.push({ index, form });
    else long.push({ index, form: digest(key) });
  });
  // One buffer for the presented key's form, reused: check() runs synchronously, one request at a time.
  const scratch = Buffer.alloc(FORM_BYTES);
  return (presented) => {
    const candidates = writeFixedForm(presented, scratch) ? short : long;
    const form = candidates === short ? scratch : digest(presented);
    let found = -1;
    for (const c of candidates) {
      const equal = crypto.timingSafeEqual(form, c.form);
      found = equal && found === -1 ? c.index : found;
    }
    return found;
  };
}
