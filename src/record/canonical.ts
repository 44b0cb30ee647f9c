// CRS-001 canonical JSON text: the exact bytes that are hashed (spec rules 1-7).
// Hand-written because it must match the reference Python serializer byte for byte, which no JS library does:
// json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True), keys in code point order, Python's float repr.
import { FabraError } from "../errors.js";
import { formatFloat, JsonFloat, type JsonValue } from "./json.js";

/** Serializes a kind-preserving JSON value in canonical form. */
export function canonicalJson(value: JsonValue): string {
  switch (typeof value) {
    case "string":
      return quoteString(value);
    case "number":
      // Integral numbers are ints (rule 5): -0 is written `0`, and 1e21 and beyond in full digits, never `1e+21`.
      if (!Number.isInteger(value)) return formatFloat(value);
      return Math.abs(value) < 1e21 ? String(value + 0) : BigInt(value).toString();
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      if (value instanceof JsonFloat) return formatFloat(value.value);
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          out += canonicalJson(value[i] as JsonValue);
        }
        return out + "]";
      }
      return canonicalObject(value);
    default:
      throw new FabraError("INVALID_RECORD", `Value of type ${typeof value} cannot be written to a record`, {
        hint: "Record values must be JSON: strings, numbers, booleans, null, arrays and plain objects.",
      });
  }
}

function canonicalObject(obj: { [key: string]: JsonValue }): string {
  const keys = Object.keys(obj).sort(compareCodePoints);
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const v = obj[key];
    if (v === undefined) continue; // undefined is "absent", as JSON.stringify treats it
    if (out.length > 1) out += ",";
    out += quoteString(key) + ":" + canonicalJson(v);
  }
  return out + "}";
}

/**
 * Orders strings by Unicode code point. JS compares UTF-16 code units, which puts characters above U+FFFF
 * (surrogates D800-DFFF) before U+E000-U+FFFF; remapping the two ranges at the first difference fixes that.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800 && cb >= 0xd800) {
      ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
      cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
    }
    return ca - cb;
  }
  return a.length - b.length;
}

const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x08: "\\b",
  0x0c: "\\f",
};

/** Quotes a string as Python's json.dumps(ensure_ascii=True) does: printable ASCII as is, the rest \uXXXX. */
export function quoteString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(runStart, i);
    // Each UTF-16 code unit on its own, so characters above U+FFFF come out as a surrogate pair.
    out += SHORT_ESCAPES[c] ?? "\\u" + c.toString(16).padStart(4, "0");
    runStart = i + 1;
  }
  return out + s.slice(runStart) + '"';
}
