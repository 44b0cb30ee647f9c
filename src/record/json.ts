// Lossless JSON reader: like JSON.parse, but `12.0` stays a float (JsonFloat), big integers stay exact (bigint),
// and errors say where the text is wrong. Duplicate keys keep the last value, as Python's json module does, except
// when reading records (`uniqueKeys`): a record with a key twice could show one value and have hashed the other.
import { FabraError } from "../errors.js";
import { JsonFloat, type JsonObject, type JsonValue } from "./json-value.js";

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const CONTROL = /[\u0000-\u001f]/;

class Reader {
  pos = 0;
  constructor(
    readonly text: string,
    readonly source: string,
    readonly uniqueKeys = false,
  ) {}

  fail(message: string, at = this.pos): never {
    const before = this.text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    throw new FabraError("INVALID_JSON", `Invalid JSON in ${this.source} at line ${line}, column ${column}: ${message}`, {
      hint: "Check the file is complete JSON (a record exported by `fabra context export`, or written by another CRS-001 implementation).",
    });
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
        return this.fail(this.pos >= this.text.length ? "unexpected end of input" : `unexpected character ${JSON.stringify(this.text[this.pos])}`);
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
      if (Number.isSafeInteger(n)) return n;
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

  array(): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) this.fail("expected , or ] in array", this.pos - 1);
    }
  }

  /** Reads an object; `member` (top level only) hears where each value starts and ends. */
  object(member?: (key: string, start: number, end: number) => void): JsonObject {
    this.pos++;
    const out: JsonObject = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail("expected a string key");
      const keyAt = this.pos;
      const key = this.string();
      if (this.uniqueKeys && Object.prototype.hasOwnProperty.call(out, key)) this.fail(`the key ${JSON.stringify(key)} appears twice in one object`, keyAt);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos++) !== 0x3a) this.fail("expected : after key", this.pos - 1);
      this.skipWhitespace();
      const start = this.pos;
      const value = this.value();
      member?.(key, start, this.pos);
      if (key === "__proto__") {
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      } else {
        out[key] = value;
      }
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d) return out;
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

/** Parses one JSON value starting at `offset`; returns it with the offset just past it. */
export function parseJsonAt(text: string, offset: number): { value: JsonValue; end: number } {
  const reader = new Reader(text, "input");
  reader.pos = offset;
  const value = reader.value();
  return { value, end: reader.pos };
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
