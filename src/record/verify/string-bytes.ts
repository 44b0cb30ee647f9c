// JSON string values read straight from ASCII bytes (canonical record text as stored), for the fast path: where a
// string ends, and its value as UTF-8 bytes, without making a JS string. Anything these do not accept, the caller
// reads the slow way.

/** The index of the quote closing the string whose body starts at `from` (just after its opening quote), or -1. */
export function closingQuote(
  bytes: Uint8Array & { indexOf(value: number, from: number): number },
  from: number,
): number {
  for (let q = from - 1; ; ) {
    q = bytes.indexOf(0x22, q + 1);
    if (q < 0) return -1;
    let b = q - 1;
    while (b >= from && bytes[b] === 0x5c) b--;
    if ((q - 1 - b) % 2 === 0) return q; // an even run of backslashes before it: not escaped
  }
}

const SHORT_RUN = 24;

/** What each one-letter escape stands for (-1: not an escape JSON has). */
const SIMPLE = new Int16Array(128).fill(-1);
for (const [letter, value] of [
  ['"', 0x22],
  ["\\", 0x5c],
  ["/", 0x2f],
  ["b", 0x08],
  ["f", 0x0c],
  ["n", 0x0a],
  ["r", 0x0d],
  ["t", 0x09],
] as const) {
  SIMPLE[letter.charCodeAt(0)] = value;
}

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** The 4 hex digits at `at` as a UTF-16 code unit, or -1. */
function hex4(bytes: Uint8Array, at: number): number {
  const a = hexDigit(bytes[at]);
  const b = hexDigit(bytes[at + 1]);
  const c = hexDigit(bytes[at + 2]);
  const d = hexDigit(bytes[at + 3]);
  return (a | b | c | d) < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

/** The first backslash in `bytes[from, end)`, or `end`: looked for byte by byte a short way (escapes come in clusters,
 * and a native call costs more than a few bytes), natively beyond. */
function nextBackslash(bytes: Buffer, from: number, end: number): number {
  const near = Math.min(end, from + SHORT_RUN);
  let i = from;
  while (i < near && bytes[i] !== 0x5c) i++;
  if (i < near || near === end) return i;
  i = bytes.indexOf(0x5c, near);
  return i < 0 || i > end ? end : i;
}

/**
 * Writes the value of the JSON string body `bytes[start, end)` (printable ASCII and escapes, as canonical text
 * holds) into `out` as UTF-8, the bytes node hashes for the same JS string. Returns the length written, or -1 at an
 * escape JSON does not allow or at an escaped lone surrogate (it has no UTF-8 form; the strict reader refuses it). The bytes between escapes are taken
 * as they are (not checked for control characters). `out` must hold at least end - start bytes: the value's UTF-8
 * is never longer than its escaped ASCII form. The body is copied once and unescaped in place.
 */
export function unescapeUtf8(bytes: Buffer, start: number, end: number, out: Buffer): number {
  const n = bytes.copy(out, 0, start, end);
  let o = 0; // write position, never after the read position
  let i = 0;
  for (;;) {
    const slash = nextBackslash(out, i, n);
    if (slash > i) {
      if (o !== i) out.copyWithin(o, i, slash);
      o += slash - i;
    }
    if (slash === n) return o;
    const e = out[slash + 1] as number;
    if (e !== 0x75) {
      const c = e < 128 ? (SIMPLE[e] as number) : -1;
      if (c < 0 || slash + 2 > n) return -1;
      out[o++] = c;
      i = slash + 2;
      continue;
    }
    const unit = slash + 6 <= n ? hex4(out, slash + 2) : -1;
    if (unit < 0) return -1;
    i = slash + 6;
    if (unit >= 0xd800 && unit <= 0xdbff && out[i] === 0x5c && out[i + 1] === 0x75 && i + 6 <= n) {
      const low = hex4(out, i + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        const cp = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        out[o++] = 0xf0 | (cp >> 18);
        out[o++] = 0x80 | ((cp >> 12) & 0x3f);
        out[o++] = 0x80 | ((cp >> 6) & 0x3f);
        out[o++] = 0x80 | (cp & 0x3f);
        i += 6;
        continue;
      }
    }
    if (unit >= 0xd800 && unit <= 0xdfff) return -1; // a lone surrogate
    if (unit < 0x80) out[o++] = unit;
    else if (unit < 0x800) {
      out[o++] = 0xc0 | (unit >> 6);
      out[o++] = 0x80 | (unit & 0x3f);
    } else {
      out[o++] = 0xe0 | (unit >> 12);
      out[o++] = 0x80 | ((unit >> 6) & 0x3f);
      out[o++] = 0x80 | (unit & 0x3f);
    }
  }
}
