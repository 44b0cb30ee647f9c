// Reads a parsed JSON value as a CRS-001 record: checks every field (errors name the field path) and
// normalizes it the way the reference verifier does (datetimes in the writer's normalized spelling, float fields as
// floats, integral floats in int fields as ints).
import { FabraError } from "../errors.js";
import { isNormalContextId } from "./id.js";
import { recordDatetime } from "./datetime.js";
import { isWellFormed } from "./unicode.js";
import { JsonFloat, isJsonObject, type JsonValue } from "./json.js";
import type { ContextRecord } from "./types.js";

type Check = (v: JsonValue | undefined, path: string) => unknown;

function fail(path: string, expected: string, got: JsonValue | undefined): never {
  const shown = got === undefined ? "nothing (the field is missing)" : describe(got);
  throw new FabraError(
    "INVALID_RECORD",
    `Not a CRS-001 record: field \`${path}\` should be ${expected}, got ${shown}`,
    {
      hint: "Records follow CRS-001 (schema 1.0.0); export a known-good one with `fabra context export <id>` to compare.",
      details: { field: path },
    },
  );
}

function describe(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof JsonFloat) return `the float ${v.value}`;
  if (typeof v === "object") return "an object";
  const text = typeof v === "string" ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v) : String(v);
  return `${typeof v} ${text}`;
}

const string: Check = (v, path) => (typeof v === "string" ? v : fail(path, "a string", v));

// Ids in the one stored form only: a record under `CTX_…` or `ctx_… ` would be a twin of the record under ctx_….
const contextId: Check = (v, path) =>
  typeof v === "string" && isNormalContextId(v)
    ? v
    : fail(path, "a context id in normal form (ctx_ + lowercase UUID)", v);

/** Hashed text (content): a lone surrogate has no UTF-8 form, so no implementation can hash it faithfully. */
const wellFormedString: Check = (v, path) =>
  typeof v === "string" && isWellFormed(v) ? v : fail(path, "a string of well-formed Unicode (no lone surrogate)", v);

/** Integers of any size (CRS-001 rule 3): a bigint beyond 2^53, a number otherwise. */
const int: Check = (v, path) => {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint") return v;
  // An integral float is accepted for an int field, as the reference reader (pydantic) coerces it.
  if (v instanceof JsonFloat && Number.isInteger(v.value)) {
    return Number.isSafeInteger(v.value) ? v.value + 0 : BigInt(v.value); // + 0: -0.0 is the integer 0
  }
  return fail(path, "an integer", v);
};

const float: Check = (v, path) => {
  if (typeof v === "number") return new JsonFloat(v);
  if (v instanceof JsonFloat) return v;
  if (typeof v === "bigint") return new JsonFloat(Number(v));
  return fail(path, "a number", v);
};

const bool: Check = (v, path) => (typeof v === "boolean" ? v : fail(path, "true or false", v));

const datetime: Check = (v, path) => {
  if (typeof v !== "string") return fail(path, "an ISO-8601 datetime string", v);
  try {
    return recordDatetime(v, path);
  } catch {
    return fail(path, "an ISO-8601 datetime string", v);
  }
};

const anyValue: Check = (v, path) => (v === undefined ? fail(path, "a JSON value", v) : v);

const object: Check = (v, path) => (isJsonObject(v) ? v : fail(path, "an object", v));

const nullable =
  (check: Check): Check =>
  (v, path) =>
    v === null ? null : check(v, path);

const oneOf =
  (...values: string[]): Check =>
  (v, path) =>
    typeof v === "string" && values.includes(v) ? v : fail(path, `one of ${values.join(" | ")}`, v);

const arrayOf =
  (check: Check): Check =>
  (v, path) =>
    Array.isArray(v) ? v.map((x, i) => check(x, `${path}[${i}]`)) : fail(path, "an array", v);

/** An object with exactly these fields; `optional` ones may be absent (and stay absent). */
const shape =
  (fields: Record<string, Check>, optional: string[] = []): Check =>
  (v, path) => {
    if (!isJsonObject(v)) return fail(path || "record", "an object", v);
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(fields)) {
      const fieldPath = path ? `${path}.${key}` : key;
      if (!(key in v) && optional.includes(key)) continue;
      out[key] = check(v[key], fieldPath);
    }
    for (const key of Object.keys(v)) {
      if (!(key in fields)) {
        throw new FabraError(
          "INVALID_RECORD",
          `Not a CRS-001 record: unknown field \`${path ? `${path}.${key}` : key}\``,
          {
            hint: "CRS-001 1.0.0 has no such field; the record may come from another format or version.",
            details: { field: path ? `${path}.${key}` : key },
          },
        );
      }
    }
    return out;
  };

const integrityShape = shape(
  {
    record_hash: string,
    content_hash: string,
    previous_context_id: nullable(string),
    signed_at: nullable(datetime),
    signing_key_id: nullable(string),
    signature: nullable(string),
  },
  ["signing_key_id"],
);

const recordShape = shape({
  context_id: contextId,
  created_at: datetime,
  environment: string,
  schema_version: string,
  inputs: object,
  context_function: string,
  content: wellFormedString,
  token_count: int,
  features: arrayOf(
    shape({
      name: string,
      entity_id: string,
      value: anyValue,
      source: oneOf("cache", "compute", "fallback"),
      as_of: datetime,
      freshness_ms: int,
    }),
  ),
  retrieved_items: arrayOf(
    shape({
      retriever: string,
      chunk_id: string,
      document_id: string,
      content_hash: string,
      content: nullable(string),
      token_count: int,
      priority: int,
      similarity_score: float,
      source_url: nullable(string),
      as_of: datetime,
      freshness_ms: int,
      is_stale: bool,
    }),
  ),
  assembly: shape({
    max_tokens: nullable(int),
    tokens_used: int,
    items_provided: int,
    items_included: int,
    dropped_items: arrayOf(
      shape({
        source_id: string,
        priority: int,
        token_count: int,
        reason: oneOf("budget_exceeded", "priority_cutoff"),
      }),
    ),
    required_items_included: bool,
    freshness_sla_ms: nullable(int),
    freshness_status: oneOf("guaranteed", "degraded", "unknown"),
    freshness_violations: arrayOf(string),
  }),
  lineage: shape({
    features_used: arrayOf(string),
    retrievers_used: arrayOf(string),
    indexes_used: arrayOf(string),
    code_version: nullable(string),
    fabra_version: string,
    assembly_latency_ms: float,
    estimated_cost_usd: float,
  }),
  integrity: integrityShape,
});

/** Checks and normalizes a parsed value as a CRS-001 record; throws INVALID_RECORD naming the bad field. */
export function recordFromJson(value: JsonValue): ContextRecord {
  return recordShape(value, "") as ContextRecord;
}
