// The canonical scan: one pass over stored record bytes that proves they are exactly the CRS-001 canonical text
// (canonical.ts, hash.ts: canonicalRecordText) of a valid record filed under the row's id, and says where the parts
// the two hashes need lie. It is what lets the fast path (stored-fast.ts) confirm a row without parsing it; anything
// it does not prove goes to the full path (stored-full.ts), which decides. It proves:
// - every byte is printable ASCII (byte-index.ts, WebAssembly SIMD), so no raw control character, no non-ASCII;
// - the exact structure: the record's 13 keys in canonical order, each fixed-schema object (assembly, dropped items,
//   features, retrieved items, lineage, integrity) with exactly its keys in order (signing_key_id the only optional
//   one), so no key is missing, unknown or twice; no whitespace anywhere;
// - each value as the schema (schema.ts) types it and as the canonical writer spells it: ints `0|-?[1-9][0-9]*`,
//   floats exactly formatFloat's text of their value (finite), float fields written as floats, enums, booleans,
//   datetimes in fabra's UTC normal form (a valid calendar date; other valid spellings go to the full path), the
//   context id in normal form and equal to the row's id, strings with exactly the canonical escapes (`\"` `\\` `\n`
//   `\r` `\t` `\b` `\f`, `\u` + lowercase hex only for what has no short form and is not printable);
// - free-form values (inputs, feature values): canonical JSON, keys strictly increasing in code point order (so
//   none twice), nested no deeper than the full reader reads (MAX_JSON_DEPTH, the record itself being depth 1).
// Only positions are read (the byte index lists every quote and backslash), so a string's body is never walked.
import { compareCodePoints } from "../canonical.js";
import { formatFloat, MAX_JSON_DEPTH } from "../json.js";
import type { IntegrityRecord } from "../types.js";
import { indexBytes, keyEntry, keysMatch } from "./byte-index.js";

// ---------------------------------------------------------------- the schema, as canonical text orders it

/** How a value is typed and spelled (the schema's kinds, as canonical text writes them). */
const Kind = {
  Str: 0,
  StrOrNull: 1,
  Int: 2,
  IntOrNull: 3,
  Float: 4,
  Bool: 5,
  Datetime: 6,
  DatetimeOrNull: 7,
  Id: 8,
  Enum: 9,
  Any: 10,
  Object: 11,
  Array: 12,
  Shape: 13,
  Content: 14,
} as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface Spec {
  kind: Kind;
  /** Enum: each allowed value as its quoted bytes. */
  values?: Fixed[];
  /** Array: the items' spec. */
  item?: Spec;
  /** Shape: the members in canonical order. */
  members?: Member[];
}

/** Bytes the text must hold at a place, compared in the byte index's module (keysMatch) with all the others at once. */
interface Fixed {
  bytes: Uint8Array;
  size: number;
  /** Their entry in the module's table. */
  entry: number;
}

const fixed = (text: string): Fixed => {
  const bytes = Buffer.from(text, "latin1");
  return { bytes, size: bytes.length, entry: keyEntry(bytes) };
};

interface Member {
  /** `{"key":` for the first member, `,"key":` for the others. */
  prefix: Fixed;
  spec: Spec;
  optional: boolean;
  /** Where to record the value's span, or -1. */
  capture: number;
}

const S = (kind: Kind): Spec => ({ kind });
/** An enum's values, each told from the others by its length and first letter (what the walk looks at). */
function ENUM(...values: string[]): Spec {
  const told = new Set(values.map((v) => `${v.length}${v[0]}`));
  if (told.size !== values.length) throw new Error("enum values not told apart by length and first letter");
  return { kind: Kind.Enum, values: values.map((v) => fixed(`"${v}"`)) };
}
const ARRAY = (item: Spec): Spec => ({ kind: Kind.Array, item });

// Captured spans (start, end) of values the hashes and the result need.
const C_CONTENT = 0;
const C_ID = 1;
const C_INTEGRITY = 2;
const C_CONTENT_HASH = 3;
const C_PREVIOUS = 4;
const C_RECORD_HASH = 5;
const C_SIGNATURE = 6;
const C_SIGNED_AT = 7;
const C_KEY_ID = 8;
const CAPTURES = 9;

type Field = [key: string, spec: Spec, capture?: number];

/** An object with exactly these fields, written in canonical (code point) order; `optional` may be absent. */
function SHAPE(fields: Field[], optional: string[] = []): Spec {
  const sorted = [...fields].sort((a, b) => compareCodePoints(a[0], b[0]));
  const members = sorted.map(([key, spec, capture], i) => {
    return {
      prefix: fixed(`${i === 0 ? "{" : ","}"${key}":`),
      spec,
      optional: optional.includes(key),
      capture: capture ?? -1,
    };
  });
  return fixShape(members);
}

function fixShape(members: Member[]): Spec {
  // An optional member must be last: its absence is then seen as the object's `}`.
  if (members.some((m, i) => m.optional && i !== members.length - 1)) throw new Error("optional member not last");
  return { kind: Kind.Shape, members };
}

// The same fields and types as schema.ts's recordShape (test/unit/verify-canonical-scan.test.ts holds the two to
// each other).
const RECORD: Spec = SHAPE([
  ["context_id", S(Kind.Id), C_ID],
  ["created_at", S(Kind.Datetime)],
  ["environment", S(Kind.Str)],
  ["schema_version", S(Kind.Str)],
  ["inputs", S(Kind.Object)],
  ["context_function", S(Kind.Str)],
  ["content", S(Kind.Content), C_CONTENT],
  ["token_count", S(Kind.Int)],
  [
    "features",
    ARRAY(
      SHAPE([
        ["name", S(Kind.Str)],
        ["entity_id", S(Kind.Str)],
        ["value", S(Kind.Any)],
        ["source", ENUM("cache", "compute", "fallback")],
        ["as_of", S(Kind.Datetime)],
        ["freshness_ms", S(Kind.Int)],
      ]),
    ),
  ],
  [
    "retrieved_items",
    ARRAY(
      SHAPE([
        ["retriever", S(Kind.Str)],
        ["chunk_id", S(Kind.Str)],
        ["document_id", S(Kind.Str)],
        ["content_hash", S(Kind.Str)],
        ["content", S(Kind.StrOrNull)],
        ["token_count", S(Kind.Int)],
        ["priority", S(Kind.Int)],
        ["similarity_score", S(Kind.Float)],
        ["source_url", S(Kind.StrOrNull)],
        ["as_of", S(Kind.Datetime)],
        ["freshness_ms", S(Kind.Int)],
        ["is_stale", S(Kind.Bool)],
      ]),
    ),
  ],
  [
    "assembly",
    SHAPE([
      ["max_tokens", S(Kind.IntOrNull)],
      ["tokens_used", S(Kind.Int)],
      ["items_provided", S(Kind.Int)],
      ["items_included", S(Kind.Int)],
      [
        "dropped_items",
        ARRAY(
          SHAPE([
            ["source_id", S(Kind.Str)],
            ["priority", S(Kind.Int)],
            ["token_count", S(Kind.Int)],
            ["reason", ENUM("budget_exceeded", "priority_cutoff")],
          ]),
        ),
      ],
      ["required_items_included", S(Kind.Bool)],
      ["freshness_sla_ms", S(Kind.IntOrNull)],
      ["freshness_status", ENUM("guaranteed", "degraded", "unknown")],
      ["freshness_violations", ARRAY(S(Kind.Str))],
    ]),
  ],
  [
    "lineage",
    SHAPE([
      ["features_used", ARRAY(S(Kind.Str))],
      ["retrievers_used", ARRAY(S(Kind.Str))],
      ["indexes_used", ARRAY(S(Kind.Str))],
      ["code_version", S(Kind.StrOrNull)],
      ["fabra_version", S(Kind.Str)],
      ["assembly_latency_ms", S(Kind.Float)],
      ["estimated_cost_usd", S(Kind.Float)],
    ]),
  ],
  [
    "integrity",
    SHAPE(
      [
        ["record_hash", S(Kind.Str), C_RECORD_HASH],
        ["content_hash", S(Kind.Str), C_CONTENT_HASH],
        ["previous_context_id", S(Kind.StrOrNull), C_PREVIOUS],
        ["signed_at", S(Kind.DatetimeOrNull), C_SIGNED_AT],
        ["signing_key_id", S(Kind.StrOrNull), C_KEY_ID],
        ["signature", S(Kind.StrOrNull), C_SIGNATURE],
      ],
      ["signing_key_id"],
    ),
    C_INTEGRITY,
  ],
]);

/** The top-level keys in canonical order (for tests and error-free introspection). */
export const CANONICAL_TOP_LEVEL_KEYS: readonly string[] = (RECORD.members ?? []).map((m) =>
  Buffer.from(m.prefix.bytes).toString("latin1").slice(2, -2),
);

// ---------------------------------------------------------------- the walk
// Synchronous and one at a time (as the byte index is), so its state lives here rather than being passed around.

let b: Buffer = Buffer.alloc(0);
/** The fixed keys walked past, as pairs (position, table entry) for keysMatch: `keys[keysFrom, kn)`. */
let keys: Uint32Array = new Uint32Array(0);
let keysFrom = 0;
let kn = 0;
let len = 0;
/** The positions of every quote and backslash, and the next one not yet walked past. */
let q: Uint32Array = new Uint32Array(0);
let qn = 0;
let qi = 0;
/** Whether the last string read held an escape, and whether one of them was a lone surrogate. */
let lastEscaped = false;
let lastLone = false;
const spans = new Int32Array(CAPTURES * 2);
const escapedAt = new Uint8Array(CAPTURES);

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

function lowerHex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * A canonical string starting at `at` (its opening quote): returns the index just past its closing quote, or -1.
 * Its body is printable ASCII (the byte index proved it), so only its escapes need reading, and the index lists
 * each one's backslash.
 */
function string(at: number): number {
  if (b[at] !== 0x22 || qi >= qn || q[qi] !== at) return -1;
  qi++;
  let escaped = false;
  let lone = false;
  let lowAt = -1; // where the low surrogate after a high one must be
  for (;;) {
    if (qi >= qn) return -1;
    const p = q[qi++] as number;
    if (lowAt >= 0 && p !== lowAt) {
      lone = true;
      lowAt = -1;
    }
    if (b[p] === 0x22) {
      lastEscaped = escaped;
      lastLone = lone || lowAt >= 0;
      return p + 1;
    }
    escaped = true;
    const e = b[p + 1] as number;
    if (e === 0x22 || e === 0x5c) {
      qi++; // the escaped quote or backslash is listed too
      continue;
    }
    if (e === 0x6e || e === 0x72 || e === 0x74 || e === 0x62 || e === 0x66) continue; // \n \r \t \b \f
    if (e !== 0x75 || p + 6 > len) return -1;
    const h0 = lowerHex(b[p + 2] as number);
    const h1 = lowerHex(b[p + 3] as number);
    const h2 = lowerHex(b[p + 4] as number);
    const h3 = lowerHex(b[p + 5] as number);
    if ((h0 | h1 | h2 | h3) < 0) return -1;
    const unit = (h0 << 12) | (h1 << 8) | (h2 << 4) | h3;
    // \u only for what is neither printable nor one of the short escapes (lone surrogates included: quoteString
    // writes each UTF-16 code unit; the content alone must be well-formed, which unescaping it checks).
    if (unit >= 0x20 && unit < 0x7f) return -1;
    if (unit === 0x08 || unit === 0x09 || unit === 0x0a || unit === 0x0c || unit === 0x0d) return -1;
    if (unit >= 0xd800 && unit <= 0xdfff) {
      if (unit <= 0xdbff) {
        if (lowAt >= 0) lone = true; // a high surrogate after a high one
        lowAt = p + 6;
      } else if (lowAt === p) lowAt = -1;
      else lone = true;
    } else if (lowAt >= 0) {
      lone = true;
      lowAt = -1;
    }
  }
}

/**
 * A number at `at` as the canonical writer spells it: an int `0|-?[1-9][0-9]*`, or a float whose text is
 * formatFloat's for its (finite) value. `kind`: 0 either, 1 int only, 2 float only. Returns the index past it, or -1.
 */
function number(at: number, kind: 0 | 1 | 2): number {
  let i = at;
  if (b[i] === 0x2d) i++;
  const first = b[i] as number;
  if (first === 0x30) i++;
  else if (first >= 0x31 && first <= 0x39) {
    i++;
    while (i < len && isDigit(b[i] as number)) i++;
  } else return -1;
  const c = b[i];
  if (c !== 0x2e && c !== 0x65 && c !== 0x45) {
    if (kind === 2) return -1; // a float field is written as a float (3.0)
    return first === 0x30 && i !== at + 1 ? -1 : i; // `-0` is written `0`
  }
  if (kind === 1) return -1;
  const intDigits = i - at - (b[at] === 0x2d ? 1 : 0);
  let fracStart = -1;
  if (c === 0x2e) {
    i++;
    fracStart = i;
    if (!isDigit(b[i] as number)) return -1;
    while (i < len && isDigit(b[i] as number)) i++;
  }
  const fracEnd = i;
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i] as number)) return -1;
    while (i < len && isDigit(b[i] as number)) i++;
  } else if (positionalCanonical(first, intDigits, fracStart, fracEnd)) return i;
  const exact = decimalValue(at, i, true);
  if (!Number.isNaN(exact)) return bytesAre(at, i, floatText(exact)) ? i : -1;
  // More significant digits than a double holds exactly (a similarity score's 17): a double within an ulp or so of
  // the text's value, from its digits, then its two neighbours. When one's canonical text is these bytes, they are
  // formatFloat's text of a double (however near the guess was), which reads back as that same double: canonical,
  // what the parse below decides too (the guess alone is right for ~70 % of scores, with its neighbours for nearly
  // all; the parse costs ~3 formats). Otherwise the text is parsed.
  const near = decimalValue(at, i, false);
  if (isTextOf(at, i, near) || isTextOf(at, i, adjacent(near, 1)) || isTextOf(at, i, adjacent(near, -1))) return i;
  let text = "";
  if (i - at <= 32) for (let k = at; k < i; k++) text += String.fromCharCode(b[k] as number);
  else text = b.toString("latin1", at, i);
  const n = Number(text);
  if (!Number.isFinite(n)) return -1;
  return floatText(n) === text ? i : -1;
}

/**
 * Whether a positional float `-?I.F` is formatFloat's text of its value, decided from its digits alone where that
 * is certain: at most 15 significant digits (DBL_DIG: two such decimals never read as the same double, so the
 * shortest digits of the double are these), no trailing zero in F unless F is `0` and I is too short to carry one
 * (12.0), and the value in positional range (1e-4 <= |x| < 1e16). Otherwise false, and the caller formats the
 * value to compare.
 */
function positionalCanonical(first: number, intDigits: number, fracStart: number, fracEnd: number): boolean {
  if (fracStart < 0) return false;
  const fracDigits = fracEnd - fracStart;
  if (first !== 0x30) {
    // I is 1..15 digits and at most 15 significant digits in all
    if (intDigits + fracDigits > 15) return false;
    if (fracDigits === 1 && b[fracStart] === 0x30) return true; // integral: 12.0
    return b[fracEnd - 1] !== 0x30;
  }
  // 0.F: |x| >= 1e-4 means a non-zero digit among F's first four; F's significant digits from there, at most 15
  let lead = fracStart;
  while (lead < fracEnd && b[lead] === 0x30) lead++;
  if (lead === fracEnd) return fracDigits === 1; // 0.0 (and -0.0)
  if (lead - fracStart > 3 || fracEnd - lead > 15) return false;
  return b[fracEnd - 1] !== 0x30;
}

/** 10^0 .. 10^22, each exact as a double. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The value of the number text `b[at, end)` when it can be had exactly without a string: a significand of at most
 * 2^53 and a power of ten up to 22 each way make one correctly rounded multiplication or division (Clinger's fast
 * path, what every exact parser does first). NaN otherwise (the caller parses the text). With `exact` false, a longer
 * significand is accumulated as a double too: the value to within an ulp or so, a guess to test, never a verdict.
 */
function decimalValue(at: number, end: number, exact: boolean): number {
  let i = at;
  const negative = b[i] === 0x2d;
  if (negative) i++;
  let sig = 0;
  let fracDigits = 0;
  let inFrac = false;
  for (; i < end; i++) {
    const c = b[i] as number;
    if (c === 0x2e) {
      inFrac = true;
      continue;
    }
    if (c === 0x65 || c === 0x45) break;
    sig = sig * 10 + (c - 0x30);
    if (exact && sig > 9007199254740991) return Number.NaN;
    if (inFrac) fracDigits++;
  }
  let exp = 0;
  if (i < end) {
    i++;
    let expNegative = false;
    if (b[i] === 0x2b || b[i] === 0x2d) {
      expNegative = b[i] === 0x2d;
      i++;
    }
    for (; i < end; i++) {
      exp = exp * 10 + ((b[i] as number) - 0x30);
      if (exp > 400) return Number.NaN;
    }
    if (expNegative) exp = -exp;
  }
  const e10 = exp - fracDigits;
  if (e10 < -22 || e10 > 22) return Number.NaN;
  const n = e10 < 0 ? sig / (POW10[-e10] as number) : sig * (POW10[e10] as number);
  return negative ? -n : n;
}

/** Whether `b[at, end)` is the canonical text of `x`. */
function isTextOf(at: number, end: number, x: number): boolean {
  return Number.isFinite(x) && bytesAre(at, end, floatText(x));
}

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);
f64[0] = 1; // 0x3ff00000_00000000: which word is the low one
const LOW = f64Words[0] === 0 ? 0 : 1;
/** The double next to `x` (finite) one ulp further from zero (`step` 1) or nearer (-1), as its bits count. */
function adjacent(x: number, step: 1 | -1): number {
  f64[0] = x;
  const lo = (f64Words[LOW] as number) + step;
  f64Words[LOW] = lo >>> 0;
  if (lo < 0 || lo > 0xffffffff) f64Words[1 - LOW] = (f64Words[1 - LOW] as number) + step;
  return f64[0] as number;
}

/** Whether `b[at, end)` is exactly `text`. */
function bytesAre(at: number, end: number, text: string): boolean {
  if (end - at !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[at + k] !== text.charCodeAt(k)) return false;
  return true;
}

/** formatFloat, faster where JS's own shortest digits are already Python's positional form. */
function floatText(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e16) {
    const s = String(n);
    return Number.isInteger(n) ? `${s}.0` : s;
  }
  return formatFloat(n);
}

function literal(at: number, word: 0 | 1 | 2): number {
  // null, true, false
  if (word === 0) return b[at] === 0x6e && b[at + 1] === 0x75 && b[at + 2] === 0x6c && b[at + 3] === 0x6c ? at + 4 : -1;
  if (word === 1) return b[at] === 0x74 && b[at + 1] === 0x72 && b[at + 2] === 0x75 && b[at + 3] === 0x65 ? at + 4 : -1;
  return b[at] === 0x66 && b[at + 1] === 0x61 && b[at + 2] === 0x6c && b[at + 3] === 0x73 && b[at + 4] === 0x65
    ? at + 5
    : -1;
}

function two(at: number): number {
  const hi = b[at] as number;
  const lo = b[at + 1] as number;
  return isDigit(hi) && isDigit(lo) ? (hi - 0x30) * 10 + lo - 0x30 : -1;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A datetime string at `at` in fabra's normal form, `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (a real calendar date, a
 * non-zero fraction), which is what recordDatetime gives back unchanged. Other spellings CRS-001 keeps (an offset,
 * naive) are left to the full path.
 */
function datetime(at: number): number {
  const end = string(at);
  if (end < 0 || lastEscaped) return -1;
  const n = end - at - 2;
  if (n !== 20 && n !== 27) return -1;
  const s = at + 1;
  const y1 = two(s);
  const y2 = two(s + 2);
  const month = two(s + 5);
  const day = two(s + 8);
  const hour = two(s + 11);
  const minute = two(s + 14);
  const second = two(s + 17);
  if (b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x54 || b[s + 13] !== 0x3a || b[s + 16] !== 0x3a)
    return -1;
  if ((y1 | y2 | month | day | hour | minute | second) < 0) return -1;
  const year = y1 * 100 + y2;
  if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || day < 1) return -1;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : (DAYS[month - 1] as number))) return -1;
  if (n === 20) return b[s + 19] === 0x5a ? end : -1;
  if (b[s + 19] !== 0x2e || b[s + 26] !== 0x5a) return -1;
  let zero = true;
  for (let i = s + 20; i < s + 26; i++) {
    const c = b[i] as number;
    if (!isDigit(c)) return -1;
    if (c !== 0x30) zero = false;
  }
  return zero ? -1 : end; // a zero fraction is written without one
}

/** `ctx_` + a lowercase UUID (8-4-4-4-12 hex), the one form ids are stored in. */
function contextId(at: number): number {
  const end = string(at);
  if (end < 0 || lastEscaped || end - at - 2 !== 40) return -1;
  const s = at + 1;
  if (b[s] !== 0x63 || b[s + 1] !== 0x74 || b[s + 2] !== 0x78 || b[s + 3] !== 0x5f) return -1;
  for (let i = 4; i < 40; i++) {
    const c = b[s + i] as number;
    if (i === 12 || i === 17 || i === 22 || i === 27) {
      if (c !== 0x2d) return -1;
    } else if (lowerHex(c) < 0) return -1;
  }
  return end;
}

/** Whether the key at [a0, a1) sorts strictly before the key at [b0, b1) (quoted spans), by code point. */
function keyBefore(a0: number, a1: number, aEscaped: boolean, b0: number, b1: number, bEscaped: boolean): boolean {
  if (!aEscaped && !bEscaped) {
    // Printable ASCII without escapes: byte order is code point order.
    const n = Math.min(a1 - a0, b1 - b0) - 1; // the shorter body, plus the closing quote compared below
    for (let i = 1; i < n; i++) {
      const x = b[a0 + i] as number;
      const y = b[b0 + i] as number;
      if (x !== y) return x < y;
    }
    return a1 - a0 < b1 - b0;
  }
  const decode = (s: number, e: number): string => JSON.parse(b.toString("latin1", s, e)) as string;
  return compareCodePoints(decode(a0, a1), decode(b0, b1)) < 0;
}

/** Any canonical JSON value at `at`, at nesting `depth` if it is an object or array. */
function anyValue(at: number, depth: number): number {
  const c = b[at];
  if (c === 0x22) return string(at);
  if (c === 0x7b) return object(at, depth);
  if (c === 0x5b) return array(at, depth, null);
  if (c === 0x6e) return literal(at, 0);
  if (c === 0x74) return literal(at, 1);
  if (c === 0x66) return literal(at, 2);
  return number(at, 0);
}

/** A free-form object: canonical values under keys in strictly increasing code point order. */
function object(at: number, depth: number): number {
  if (depth > MAX_JSON_DEPTH || b[at] !== 0x7b) return -1;
  let i = at + 1;
  if (b[i] === 0x7d) return i + 1;
  let prevStart = -1;
  let prevEnd = -1;
  let prevEscaped = false;
  for (;;) {
    const keyEnd = string(i);
    if (keyEnd < 0) return -1;
    const escaped = lastEscaped;
    if (prevStart >= 0 && !keyBefore(prevStart, prevEnd, prevEscaped, i, keyEnd, escaped)) return -1;
    prevStart = i;
    prevEnd = keyEnd;
    prevEscaped = escaped;
    if (b[keyEnd] !== 0x3a) return -1;
    i = anyValue(keyEnd + 1, depth + 1);
    if (i < 0) return -1;
    const c = b[i];
    if (c === 0x7d) return i + 1;
    if (c !== 0x2c) return -1;
    i++;
  }
}

/** An array of canonical values (`item` null) or of values as `item` specifies. */
function array(at: number, depth: number, item: Spec | null): number {
  if (depth > MAX_JSON_DEPTH || b[at] !== 0x5b) return -1;
  let i = at + 1;
  if (b[i] === 0x5d) return i + 1;
  for (;;) {
    i = item === null ? anyValue(i, depth + 1) : value(i, item, depth + 1);
    if (i < 0) return -1;
    const c = b[i];
    if (c === 0x5d) return i + 1;
    if (c !== 0x2c) return -1;
    i++;
  }
}

/** A fixed-schema object: exactly its members, in order. */
function shape(at: number, members: Member[], depth: number): number {
  if (depth > MAX_JSON_DEPTH) return -1;
  let i = at;
  for (let m = 0; m < members.length; m++) {
    const member = members[m] as Member;
    if (member.optional && m > 0 && b[i] === 0x7d) {
      if (member.capture >= 0) spans[member.capture * 2] = -1;
      continue;
    }
    // The key's quotes are the next two positions listed: its length is right when the closing one is where the
    // prefix has it. Its bytes are compared with every other key's when the walk is done (keysMatch, in the byte
    // index's module); until then the walk relies only on the positions, so a wrong key cannot mislead it, only fail.
    const start = i + member.prefix.size;
    if (q[qi] !== i + 1 || q[qi + 1] !== start - 2) return -1;
    keys[kn++] = i;
    keys[kn++] = member.prefix.entry;
    qi += 2; // the key's quotes (fixed keys hold no backslash)
    i = value(start, member.spec, depth + 1);
    if (i < 0) return -1;
    if (member.capture >= 0) {
      spans[member.capture * 2] = start;
      spans[member.capture * 2 + 1] = i;
      escapedAt[member.capture] = lastEscaped ? 1 : 0;
    }
  }
  return b[i] === 0x7d ? i + 1 : -1;
}

function value(at: number, spec: Spec, depth: number): number {
  switch (spec.kind) {
    case Kind.Str:
      return string(at);
    case Kind.Content: {
      // Hashed text must be well-formed Unicode (schema.ts: no lone surrogate)
      const end = string(at);
      return lastLone ? -1 : end;
    }
    case Kind.StrOrNull:
      lastEscaped = false;
      return b[at] === 0x6e ? literal(at, 0) : string(at);
    case Kind.Int:
      return number(at, 1);
    case Kind.IntOrNull:
      return b[at] === 0x6e ? literal(at, 0) : number(at, 1);
    case Kind.Float:
      return number(at, 2);
    case Kind.Bool:
      return b[at] === 0x74 ? literal(at, 1) : literal(at, 2);
    case Kind.Datetime:
      return datetime(at);
    case Kind.DatetimeOrNull:
      return b[at] === 0x6e ? literal(at, 0) : datetime(at);
    case Kind.Id:
      return contextId(at);
    case Kind.Enum: {
      // Its quotes are the next two positions listed, so its length is known: the one value of that length and first
      // letter is listed to be compared as a key is (a backslash or any other byte there fails the comparison).
      if (q[qi] !== at) return -1;
      const size = (q[qi + 1] as number) + 1 - at;
      const first = b[at + 1];
      for (const v of spec.values as Fixed[]) {
        if (v.size === size && v.bytes[1] === first) {
          keys[kn++] = at;
          keys[kn++] = v.entry;
          qi += 2;
          return at + size;
        }
      }
      return -1;
    }
    case Kind.Any:
      return anyValue(at, depth);
    case Kind.Object:
      return object(at, depth);
    case Kind.Array:
      return array(at, depth, spec.item as Spec);
    case Kind.Shape:
      return b[at] === 0x7b ? shape(at, spec.members as Member[], depth) : -1;
  }
}

// ---------------------------------------------------------------- the result

/** What the fast path needs from a row the scan proved canonical. */
export interface CanonicalScan {
  /** The row's bytes, in the byte index's memory (scratch: valid until the next scan). */
  bytes: Buffer;
  /** The content string's body (between its quotes), and whether it holds an escape. */
  contentStart: number;
  contentEnd: number;
  contentEscaped: boolean;
  /** The integrity object: [start, end). */
  integrityStart: number;
  integrityEnd: number;
  /** Just past `"record_hash":"` in the integrity object: the text the hashing form shares ends here. */
  sharedEnd: number;
  integrity: IntegrityRecord;
}

function text(capture: number): string | null {
  const start = spans[capture * 2] as number;
  const end = spans[capture * 2 + 1] as number;
  if (start < 0 || b[start] === 0x6e) return null;
  const quoted = b.toString("latin1", start, end);
  return escapedAt[capture] ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}

/** Whether the id at the C_ID span is `contextId`. */
function idIs(contextId: string): boolean {
  const start = (spans[C_ID * 2] as number) + 1;
  if (contextId.length !== 40) return false;
  for (let i = 0; i < 40; i++) if (b[start + i] !== contextId.charCodeAt(i)) return false;
  return true;
}

/**
 * Scans `stored` (a row's bytes): the spans the hashes need when it is exactly the canonical text of a valid record
 * whose context_id is `contextId`, otherwise null (never throws). The bytes are copied into the scan's own memory
 * first; `stored` itself is never changed.
 */
export function scanCanonical(stored: Uint8Array, contextId: string): CanonicalScan | null {
  const index = indexBytes(stored);
  if (index === null) return null;
  b = index.bytes;
  keys = index.keys;
  keysFrom = index.keysFrom;
  kn = keysFrom;
  len = stored.length;
  q = index.positions;
  qn = index.count;
  qi = 0;
  spans.fill(-1);
  let end: number;
  try {
    end = b[0] === 0x7b ? shape(0, RECORD.members as Member[], 1) : -1;
  } catch {
    end = -1; // a stack overflow on absurd nesting is impossible below MAX_JSON_DEPTH, but never let one out
  }
  if (end !== len || qi !== qn || !idIs(contextId) || !keysMatch((kn - keysFrom) / 2)) return null;
  const integrityStart = spans[C_INTEGRITY * 2] as number;
  const recordHashStart = spans[C_RECORD_HASH * 2] as number;
  const integrity: IntegrityRecord = {
    record_hash: text(C_RECORD_HASH) as string,
    content_hash: text(C_CONTENT_HASH) as string,
    previous_context_id: text(C_PREVIOUS),
    signed_at: text(C_SIGNED_AT),
    signature: text(C_SIGNATURE),
  };
  if ((spans[C_KEY_ID * 2] as number) >= 0) integrity.signing_key_id = text(C_KEY_ID);
  return {
    bytes: b,
    contentStart: (spans[C_CONTENT * 2] as number) + 1,
    contentEnd: (spans[C_CONTENT * 2 + 1] as number) - 1,
    contentEscaped: escapedAt[C_CONTENT] === 1,
    integrityStart,
    integrityEnd: spans[C_INTEGRITY * 2 + 1] as number,
    sharedEnd: recordHashStart + 1,
    integrity,
  };
}
