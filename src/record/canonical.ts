// CRS-001 canonical JSON text: the exact bytes that are hashed (spec rules 1-7).
// It must match the reference Python serializer byte for byte: json.dumps(sort_keys=True,
// separators=(",", ":"), ensure_ascii=True) with Python's float repr.
// Hand-written on purpose: no JSON library reproduces Python's float repr and ensure_ascii escapes byte for byte.
import { FabraError } from "../errors.js";
import { JsonFloat, type JsonValue } from "./json-value.js";

/** Serializes a kind-preserving JSON value in canonical form. */
export function canonicalJson(value: JsonValue): string {
  switch (typeof value) {
    case "string":
      return quoteString(value);
    case "number":
      return Number.isInteger(value) && !Object.is(value, -0) ? String(value) : formatFloat(value);
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

/**
 * Formats a double the way Python's repr does, from the shortest round-trip digits JS finds:
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
