// GET /openapi.json: an OpenAPI 3.1 description of every route, with the project's own features and contexts
// (and each context's declared inputs) filled in from the loaded definitions.
import type { Definitions } from "../define/collect.js";
import { parseInputSpec, type InputKind } from "../define/inputs.js";
import { MAX_BATCH } from "./routes/features.js";
import { MAX_LIST } from "./routes/contexts.js";

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description: string) => ({ description, content: { "application/json": { schema } } });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), json(ref("Error"), ERROR_TEXT[s] ?? "Error")]));
const ERROR_TEXT: Record<number, string> = {
  400: "Bad input: malformed JSON, a missing or mistyped input or parameter",
  401: "Missing or invalid API key",
  404: "Unknown feature, context, record or route",
  413: "Body over the size limit",
  422: "Record fails verification, or cannot be replayed",
  503: "A store is unavailable, or the server is shutting down",
};
const query = (name: string, description: string, schema: Schema = { type: "string" }, required = false) => ({ name, in: "query", required, description, schema });
const path = (name: string, description: string, schema: Schema = { type: "string" }) => ({ name, in: "path", required: true, description, schema });
const idParam = path("id", "A context id (ctx_<uuid>, or the bare UUID)");
/** An entity id in a body: a non-empty string, or a whole number taken as its decimal string. */
const ENTITY_ID: Schema = { oneOf: [{ type: "string", minLength: 1 }, { type: "integer" }] };
const listFilters = [
  query("function", "Only records of this context function"),
  query("since", "created_at >= this (ISO-8601)", { type: "string", format: "date-time" }),
  query("until", "created_at < this (ISO-8601)", { type: "string", format: "date-time" }),
  query("order", "Newest (desc, default) or oldest (asc) first", { type: "string", enum: ["desc", "asc"] }),
  query("cursor", "Continue after this context_id (the previous page's next_cursor)"),
];

const KIND_SCHEMA: Record<InputKind, Schema> = {
  string: { type: "string" },
  number: { type: "number" },
  integer: { type: "integer" },
  boolean: { type: "boolean" },
  object: { type: "object" },
  array: { type: "array" },
  any: {},
};

export function buildOpenApi(definitions: Definitions, version: string): Schema {
  const contexts = [...definitions.contexts.keys()].sort();
  const features = [...definitions.features.keys()].sort();
  const inputSchemas: Record<string, Schema> = {};
  for (const name of contexts) {
    const spec = definitions.contexts.get(name)?.options.inputs;
    if (!spec) continue;
    const declared = parseInputSpec(spec, name);
    inputSchemas[`Inputs_${name}`] = {
      type: "object",
      title: `Inputs of ${name}`,
      additionalProperties: false,
      properties: Object.fromEntries(declared.map((d) => [d.name, d.optional ? { anyOf: [KIND_SCHEMA[d.kind], { type: "null" }] } : KIND_SCHEMA[d.kind]])),
      required: declared.filter((d) => !d.optional).map((d) => d.name),
    };
  }
  const auth = [{ bearer: [] }, { apiKey: [] }];

  return {
    openapi: "3.1.0",
    info: { title: "fabra", version, description: "Context Records for AI applications: features, context assembly, and the hash-verified record ledger." },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "One of the server's FABRA_API_KEYS" },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, hint: { type: "string" }, request_id: { type: "string" } } } },
        },
        FeatureValue: {
          type: "object",
          properties: {
            name: { type: "string", enum: features.length > 0 ? features : undefined },
            entity_id: { type: "string" },
            value: {},
            as_of: { type: "string", format: "date-time" },
            freshness_ms: { type: "integer" },
            served_from: { type: "string", enum: ["cache", "compute", "fallback", "history"] },
          },
        },
        FeatureBatchItem: { oneOf: [ref("FeatureValue"), { type: "object", properties: { name: { type: "string" }, entity_id: { type: "string" }, error: { type: "object" } } }] },
        Assembly: {
          type: "object",
          properties: {
            context_id: { type: "string" },
            content: { type: "string" },
            token_count: { type: "integer" },
            dropped: { type: "array", items: { type: "object" } },
            meta: { type: "object" },
            record_hash: { type: "string" },
          },
        },
        RecordSummary: {
          type: "object",
          properties: Object.fromEntries(["context_id", "created_at", "context_function", "environment", "record_hash", "previous_context_id"].map((k) => [k, { type: "string" }]).concat([["token_count", { type: "integer" }]])),
        },
        ContextRecord: { type: "object", description: "A CRS-001 Context Record in canonical form" },
        Verification: { type: "object", properties: { context_id: { type: "string" }, ok: { type: "boolean" }, checks: { type: "array" }, failed: {} } },
        Comparison: { type: "object", properties: { verified: { type: "boolean" }, verification: { type: "object" }, diff: { type: "object" } } },
        Replay: {
          type: "object",
          properties: {
            original_id: { type: "string" },
            context_id: { type: "string" },
            mode: { type: "string", enum: ["recorded", "live"] },
            same_content: { type: ["boolean", "null"] },
            content: { type: "string" },
            token_count: { type: "integer" },
            record_hash: { type: "string" },
            persisted: { type: "boolean" },
            diff: { type: "object" },
          },
        },
        LedgerRow: { type: "object", properties: { context_id: { type: "string" }, canonical_text: { type: "string" } } },
        ...inputSchemas,
      },
    },
    security: auth,
    paths: {
      "/health": { get: { summary: "Liveness", security: [], responses: { 200: json({ type: "object" }, "The process is up") } } },
      "/ready": { get: { summary: "Readiness: every store answers", security: [], responses: { 200: json({ type: "object" }, "Ready"), 503: json({ type: "object" }, "A store is unreachable, or draining") } } },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { 200: { description: "Text exposition format", content: { "text/plain": {} } }, ...errors(401) } } },
      "/openapi.json": { get: { summary: "This document", security: [], responses: { 200: json({ type: "object" }, "OpenAPI 3.1") } } },
      "/v1/features/{name}": {
        get: {
          summary: "Read a feature for an entity (cache, else computed on the miss; as_of reads history)",
          parameters: [
            path("name", "Feature name", features.length > 0 ? { type: "string", enum: features } : { type: "string" }),
            query("entity_id", "Entity id", { type: "string" }, true),
            query("as_of", "The value as it was at this time, from offline history", { type: "string", format: "date-time" }),
          ],
          responses: { 200: json(ref("FeatureValue"), "The value with its provenance"), ...errors(400, 401, 404, 503) },
        },
      },
      "/v1/features": {
        post: {
          summary: `Read many features for many entities (at most ${MAX_BATCH}); each result carries its own error`,
          requestBody: json(
            {
              oneOf: [
                { type: "object", required: ["features"], properties: { features: { type: "array", items: { type: "string" } }, entity_ids: { type: "array", items: ENTITY_ID }, entity_id: ENTITY_ID } },
                { type: "object", required: ["requests"], properties: { requests: { type: "array", items: { type: "object", properties: { feature: { type: "string" }, entity_id: ENTITY_ID } } } } },
              ],
            },
            "Features × entities, or explicit pairs",
          ),
          responses: { 200: json({ type: "object", properties: { results: { type: "array", items: ref("FeatureBatchItem") } } }, "One result per read, in order"), ...errors(400, 401, 413) },
        },
      },
      "/v1/context/{name}": {
        post: {
          summary: "Assemble a context with the function's inputs and write its record",
          parameters: [path("name", "Context function", contexts.length > 0 ? { type: "string", enum: contexts } : { type: "string" })],
          requestBody: json(Object.keys(inputSchemas).length > 0 ? { oneOf: [...Object.keys(inputSchemas).map(ref), { type: "object" }] } : { type: "object" }, "The inputs, by parameter name"),
          responses: { 200: json(ref("Assembly"), "The assembled context"), ...errors(400, 401, 404, 413, 422, 503) },
        },
      },
      "/v1/contexts": {
        get: {
          summary: "List records, newest first",
          parameters: [...listFilters, query("limit", `At most this many (1..${MAX_LIST}, default 20)`, { type: "integer" })],
          responses: { 200: json({ type: "object", properties: { items: { type: "array", items: ref("RecordSummary") }, next_cursor: { type: ["string", "null"] } } }, "A page of records"), ...errors(400, 401) },
        },
      },
      "/v1/contexts/{id}": { get: { summary: "A record, as stored (canonical JSON)", parameters: [idParam], responses: { 200: json(ref("ContextRecord"), "The record"), ...errors(400, 401, 404) } } },
      "/v1/contexts/{id}/verify": { get: { summary: "Recompute a record's hashes (and signature)", parameters: [idParam], responses: { 200: json(ref("Verification"), "ok tells whether it is intact"), ...errors(400, 401, 404) } } },
      "/v1/contexts/diff": {
        post: {
          summary: "Verify two records and diff them",
          requestBody: json({ type: "object", required: ["a", "b"], properties: { a: { type: "string" }, b: { type: "string" } } }, "Two context ids"),
          responses: { 200: json(ref("Comparison"), "The diff, and whether both verified"), ...errors(400, 401, 404, 413) },
        },
      },
      "/v1/contexts/{id}/replay": {
        post: {
          summary: "Re-run a record's context function with its recorded inputs (recorded data, or live) and diff the result",
          parameters: [idParam],
          requestBody: { required: false, ...json({ type: "object", properties: { live: { type: "boolean" } } }, "live: use today's data") },
          responses: { 200: json(ref("Replay"), "The new record and its diff against the original"), ...errors(400, 401, 404, 422, 503) },
        },
      },
      "/v1/ledger/rows": {
        get: { summary: "Ledger rows with their canonical text (used by the CLI while the server holds the ledger)", parameters: [...listFilters, query("limit", `1..${MAX_LIST}, default 100`, { type: "integer" })], responses: { 200: json({ type: "object", properties: { rows: { type: "array", items: ref("LedgerRow") } } }, "Rows"), ...errors(400, 401) } },
        post: {
          summary: "Append a record (verified first; appending the same record again is a no-op)",
          requestBody: json({ type: "object", required: ["canonical_text"], properties: { canonical_text: { type: "string" } } }, "The record in canonical form"),
          responses: { 200: json({ type: "object", properties: { context_id: { type: "string" }, outcome: { type: "string", enum: ["inserted", "exists"] } } }, "Appended"), 409: json(ref("Error"), "Same id, different record"), ...errors(400, 401, 413, 422) },
        },
      },
      "/v1/ledger/rows/{id}": { get: { summary: "One ledger row", parameters: [idParam], responses: { 200: json(ref("LedgerRow"), "The row"), ...errors(400, 401, 404) } } },
      "/v1/ledger/count": { get: { summary: "How many records match", parameters: listFilters.slice(0, 3), responses: { 200: json({ type: "object", properties: { count: { type: "integer" } } }, "The count"), ...errors(400, 401) } } },
    },
  };
}
