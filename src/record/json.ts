// Lossless JSON, the one module for JSON text in fabra: values that keep what plain JS numbers lose (a float stays a
// float, 12.0 vs 12; big integers stay exact), a reader that keeps them (with an option refusing a key twice, and the
// spans of an object's members), and a writer for output (`toJsonText`). CRS-001's canonical form is canonical.ts.
import { randomUUID } from "node:crypto";
import { FabraError } from "../errors.js";

// ---------------------------------------------------------------- values
//
// Kinds, as CRS-001 rule 5 defines them:
// - a JS `number` is an int when Number.isInteger(n) (-0 is the int 0, written `0`), otherwise a float;
// - a `JsonFloat` is always a float, even when integral (12.0, -0.0, 1e+16 read from JSON text);
// - a `bigint` is an int of any size (integers beyond 2^53 read from JSON text).

/** A number that must be written as a float even when its value is integral. */
export class JsonFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
}

export type JsonValue =
  | null
  | boolean
  | string
  | number
  | bigint
  | JsonFloat
  | JsonValue[]
  | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof JsonFloat);
}

/**
 * Sets `obj[key] = value` as an own data member, whatever the key: `__proto__` is kept as data (assignment would
 * set the object's prototype instead, dropping the member and exposing its contents through inheritance).
 */
export function setMember<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Wraps a number as a float for fields CRS-001 types as float (latency, cost, similarity). */
export function float(n: number): JsonFloat {
  return new JsonFloat(n);
}

/** Converts a kind-preserving value to what user code expects: floats become plain numbers, safe bigints numbers. */
export function toPlain(v: JsonValue): unknown {
  if (v instanceof JsonFloat) return v.value;
  if (typeof v === "bigint") {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (isJsonObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setMember(out, k, toPlain(x));
    return out;
  }
  return v;
}

// ---------------------------------------------------------------- reading
// Like JSON.parse, but `12.0` stays a float (JsonFloat), big integers stay exact (bigint), and errors say where the
// text is wrong. Duplicate keys keep the last value, as Python's json module does, except when reading records
// (`uniqueKeys`): a record with a key twice could show one value and have hashed the other.

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const CONTROL = /[\u0000-\u001f]/;
/**
 * The deepest nesting read (objects and arrays). The reader and everything after it (schema, canonical form) walk
 * values recursively, so deeper text is refused as bad input here rather than overflowing the stack later.
 */
export const MAX_JSON_DEPTH = 512;

class Reader {
  pos = 0;
  depth = 0;
  constructor(
    readonly text: string,
    readonly source: string,
    readonly uniqueKeys = false,
  ) {}

  fail(message: string, at = this.pos): never {
    const before = this.text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    throw new FabraError(
      "INVALID_JSON",
      `Invalid JSON in ${this.source} at line ${line}, column ${column}: ${message}`,
      {
        hint: "Check the file is complete JSON (a record exported by `fabra context export`, or written by another CRS-001 implementation).",
      },
    );
  }

  skipWhitespace(): void {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.test(this.text);
    this.pos = WHITESPACE.lastIndex;
  }

  value(): JsonValue {
    this.skipWhitespace();
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.object();
      case 0x5b /* [ */:
        return this.array();
      case 0x22 /* " */:
        return this.string();
      case 0x74 /* t */:
        return this.literal("true", true);
      case 0x66 /* f */:
        return this.literal("false", false);
      case 0x6e /* n */:
        return this.literal("null", null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(
          this.pos >= this.text.length
            ? "unexpected end of input"
            : `unexpected character ${JSON.stringify(this.text[this.pos])}`,
        );
    }
  }

  literal<T>(word: string, result: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return result;
  }

  number(): number | bigint | JsonFloat {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail("invalid number");
    this.pos = NUMBER.lastIndex;
    const literal = m[0];
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(literal);
      if (Number.isSafeInteger(n)) return n + 0; // + 0: the integer literal -0 is the integer 0 (rule 3)
      return BigInt(literal);
    }
    const n = Number(literal);
    if (!Number.isFinite(n)) this.fail(`number ${literal} is out of range`);
    // Non-integral floats are unambiguous as plain numbers; integral ones (12.0, 1e+16, -0.0) need the marker.
    return Number.isInteger(n) ? new JsonFloat(n) : n;
  }

  string(): string {
    const start = this.pos; // at the opening quote
    // Fast path for well-formed strings: find the closing quote with native searches (a quote preceded by an odd
    // run of backslashes is escaped), then unescape natively. Anything odd goes through the checking loop below,
    // which gives the exact error.
    const text = this.text;
    let end = start;
    for (;;) {
      end = text.indexOf('"', end + 1);
      if (end < 0) break;
      let b = end - 1;
      while (text.charCodeAt(b) === 0x5c) b--;
      if ((end - 1 - b) % 2 === 0) break;
    }
    if (end > start) {
      const body = text.slice(start + 1, end);
      if (!CONTROL.test(body)) {
        if (body.indexOf("\\") < 0) {
          this.pos = end + 1;
          return body;
        }
        try {
          const value = JSON.parse(text.slice(start, end + 1)) as string;
          this.pos = end + 1;
          return value;
        } catch {
          // an invalid escape: the loop below reports it
        }
      }
    }
    return this.checkedString(start);
  }

  checkedString(start: number): string {
    let i = start + 1;
    let escaped = false;
    for (;;) {
      const c = this.text.charCodeAt(i);
      if (Number.isNaN(c)) return this.fail("unterminated string", start);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c < 0x20) return this.fail("control character in string", i);
      i++;
    }
    this.pos = i + 1;
    if (!escaped) return this.text.slice(start + 1, i);
    try {
      return JSON.parse(this.text.slice(start, i + 1)) as string;
    } catch {
      return this.fail("invalid escape in string", start);
    }
  }

  /** Enters an object or array: refuses nesting deeper than MAX_JSON_DEPTH. */
  enter(): void {
    if (++this.depth > MAX_JSON_DEPTH) this.fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  }

  array(): JsonValue[] {
    this.enter();
    this.pos++;
    const out: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d) {
        this.depth--;
        return out;
      }
      if (c !== 0x2c) this.fail("expected , or ] in array", this.pos - 1);
    }
  }

  /** Reads an object; `member` (top level only) hears where each value starts and ends. */
  object(member?: (key: string, start: number, end: number) => void): JsonObject {
    this.enter();
    this.pos++;
    const out: JsonObject = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail("expected a string key");
      const keyAt = this.pos;
      const key = this.string();
      if (this.uniqueKeys && Object.hasOwn(out, key))
        this.fail(`the key ${JSON.stringify(key)} appears twice in one object`, keyAt);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos++) !== 0x3a) this.fail("expected : after key", this.pos - 1);
      this.skipWhitespace();
      const start = this.pos;
      const value = this.value();
      member?.(key, start, this.pos);
      setMember(out, key, value);
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d) {
        this.depth--;
        return out;
      }
      if (c !== 0x2c) this.fail("expected , or } in object", this.pos - 1);
    }
  }
}

/**
 * Parses JSON text keeping number kinds. `source` names the input in error messages. With `uniqueKeys`, a key that
 * appears twice in one object is an error (records), instead of the last one winning.
 */
export function parseJson(text: string, source = "input", options: { uniqueKeys?: boolean } = {}): JsonValue {
  const reader = new Reader(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, source, options.uniqueKeys);
  const value = reader.value();
  reader.skipWhitespace();
  if (reader.pos !== reader.text.length) reader.fail("unexpected text after the JSON value");
  return value;
}

/** Where a top-level member's value lies in the text: [start, end). */
export type Span = readonly [number, number];

/**
 * Parses text that must be one JSON object (no byte-order mark, as stored text never has one) and also says
 * where each top-level member's value lies in the text. Keys must be unique (it reads stored records).
 */
export function parseJsonObjectSpans(text: string, source = "input"): { value: JsonObject; spans: Map<string, Span> } {
  const reader = new Reader(text, source, true);
  const spans = new Map<string, Span>();
  reader.skipWhitespace();
  if (text.charCodeAt(reader.pos) !== 0x7b) reader.fail("expected a JSON object");
  const value = reader.object((key, start, end) => spans.set(key, [start, end]));
  reader.skipWhitespace();
  if (reader.pos !== text.length) reader.fail("unexpected text after the JSON value");
  return { value, spans };
}

// ---------------------------------------------------------------- writing

/**
 * Formats a double the way Python's repr does (json.dumps writes floats so; JS's String(n) gives `12`, `0.00001`,
 * `1e21`), from the shortest round-trip digits JS finds:
 * `12.0`, `-0.0`, `0.0001`, `1e-05`, `1.2e-05`, `1e+16`, `123.456`.
 */
export function formatFloat(n: number): string {
  if (!Number.isFinite(n)) {
    throw new FabraError("INVALID_RECORD", `${n} is not a valid number in a record`, {
      hint: "CRS-001 records cannot hold NaN or infinity; replace the value with null or a finite number.",
    });
  }
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  const sign = n < 0 ? "-" : "";
  let s = String(Math.abs(n));
  let exp10 = 0;
  const e = s.indexOf("e");
  if (e >= 0) {
    exp10 = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf(".");
  const intPart = dot < 0 ? s : s.slice(0, dot);
  let digits = intPart + (dot < 0 ? "" : s.slice(dot + 1));
  // The decimal point sits after `point` digits of `digits`.
  let point = intPart.length + exp10;
  let lead = 0;
  while (digits.charCodeAt(lead) === 0x30) lead++;
  digits = digits.slice(lead);
  point -= lead;
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 0x30) end--;
  digits = digits.slice(0, end);

  const exponent = point - 1;
  if (exponent < -4 || exponent >= 16) {
    const mantissa = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    const expAbs = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${mantissa}e${exponent < 0 ? "-" : "+"}${expAbs}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

// Marks a float's or bigint's text in JSON.stringify's output, unquoted afterwards. A per-process nonce, so no string
// a user stores can be mistaken for a marker.
const MARK = `\u0000${randomUUID()}:`;
const MARKED = new RegExp(`"\\\\u0000${MARK.slice(1)}([^"]*)"`, "g");

/**
 * Lossless JSON text for output (API responses, `--format json`): like JSON.stringify (`indent` as there), but a
 * JsonFloat keeps its float form (12.0) and a bigint is written as its exact digits instead of throwing.
 */
export function toJsonText(value: unknown, indent?: number): string {
  let marked = false;
  const text = JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      const original = this[key];
      if (original instanceof JsonFloat) {
        marked = true;
        return MARK + formatFloat(original.value);
      }
      if (typeof original === "bigint") {
        marked = true;
        return MARK + original.toString();
      }
      if (typeof original === "number" && Number.isInteger(original) && Math.abs(original) >= 1e21) {
        marked = true;
        return MARK + BigInt(original).toString(); // an integer stays an integer, never `1e+21`
      }
      return v;
    },
    indent,
  );
  return marked ? text.replace(MARKED, "$1") : text;
}
