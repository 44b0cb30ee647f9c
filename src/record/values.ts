// User values ⇄ record values. User code passes plain JS (ints when Number.isInteger, CRS-001 rule 5);
// stores keep kind-preserving JSON text so floats stay floats across processes and implementations.
import { FabraError } from "../errors.js";
import { canonicalJson } from "./canonical.js";
import { toDatetime } from "./datetime.js";
import { parseJson, JsonFloat, setMember, toPlain, type JsonObject, type JsonValue } from "./json.js";

/** Converts a user value to a record value; `where` names it in errors. */
export function toJsonValue(value: unknown, where: string): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
    case "bigint":
      return value;
    case "number":
      if (!Number.isFinite(value)) {
        throw new FabraError("INVALID_ARGUMENT", `${where} is ${value}, which a record cannot hold`, {
          hint: "Use a finite number or null.",
        });
      }
      return value;
    case "object": {
      if (value instanceof JsonFloat) return value;
      if (value instanceof Date) return toDatetime(value);
      if (Array.isArray(value)) return value.map((v, i) => toJsonValue(v, `${where}[${i}]`));
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new FabraError(
          "INVALID_ARGUMENT",
          `${where} is a ${(value as object).constructor?.name ?? "non-plain"} object`,
          {
            hint: "Records hold JSON: plain objects, arrays, strings, numbers, booleans, null (Dates become ISO strings).",
          },
        );
      }
      const out: JsonObject = {};
      // `__proto__` stays data (setMember), never the copy's prototype.
      for (const [k, v] of Object.entries(value))
        if (v !== undefined) setMember(out, k, toJsonValue(v, `${where}.${k}`));
      return out;
    }
    default:
      throw new FabraError("INVALID_ARGUMENT", `${where} is a ${typeof value}, which a record cannot hold`, {
        hint: "Records hold JSON values only.",
      });
  }
}

export function encodeValue(value: JsonValue): string {
  return canonicalJson(value);
}

export function decodeValue(text: string): JsonValue {
  return parseJson(text, "stored value");
}

/** 16 digits in a row: an integer literal that may be beyond 2^53 (the only place JSON.parse would lose data). */
const MAYBE_BIG_INTEGER = /\d{16}/;

/** Stored text → what user code gets back (plain numbers; integers beyond 2^53 as bigint). */
export function decodeForUser(text: string): unknown {
  // Fast path: without a long digit run, JSON.parse gives exactly what the lossless reader + toPlain would
  // (12.0 → 12 either way), and it is several times faster on the training-data path.
  if (!MAYBE_BIG_INTEGER.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // fall through: the lossless reader reports where the text is wrong
    }
  }
  return toPlain(decodeValue(text));
}
