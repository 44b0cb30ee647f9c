// JSON values that keep what plain JS numbers lose: whether a number is a float (12.0 vs 12) and big integers.
//
// Kinds, as CRS-001 rule 5 defines them:
// - a JS `number` is an int when Number.isInteger(n) (and n is not -0), otherwise a float;
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
    for (const [k, x] of Object.entries(v)) out[k] = toPlain(x);
    return out;
  }
  return v;
}
