// GET /openapi.json: the OpenAPI 3.1 document generated (by @hono/zod-openapi) from the routes' zod declarations,
// with the project's own features and contexts (and each context's declared inputs) filled in from its definitions.
import { type OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { Definitions } from "../define/collect.js";
import { type InputKind, parseInputSpec } from "../define/inputs.js";
import type { AppEnv } from "./types.js";

type Schema = Record<string, unknown>;

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      hint: z.string().optional(),
      request_id: z.string().optional(),
    }),
  })
  .openapi("Error");

const ERROR_TEXT: Record<number, string> = {
  400: "Bad input: malformed JSON, a missing or mistyped input or parameter",
  401: "Missing or invalid API key",
  403: "The credential may not do this (ledger writes take only the per-run token)",
  404: "Unknown feature, context, record or route",
  409: "Same id, different record",
  413: "Body over the size limit",
  422: "Record fails verification, or cannot be replayed",
  503: "A store is unavailable, or the server is shutting down",
};

/** A JSON response (or request body) of this schema. */
export const json = (schema: z.ZodType | Schema, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** The error responses a route may give, all in the one envelope. */
export const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, json(ErrorSchema, ERROR_TEXT[s] ?? "Error")]));

/** A path parameter's schema (documentation only: the handlers resolve and refuse the value themselves). */
export const pathParam = (description: string, names?: readonly string[]) =>
  z.string().openapi({ description, ...(names && names.length > 0 ? { enum: [...names] } : {}) });

export const contextIdParam = z.object({
  id: pathParam(
    "A context id (ctx_<uuid>, or the bare UUID), or a record hash (sha256:<64 hex>) where a record is read",
  ),
});

/** An entity id in a body: a non-empty string, or a whole number taken as its decimal string. */
export const ENTITY_ID: Schema = { oneOf: [{ type: "string", minLength: 1 }, { type: "integer" }] };

export const FeatureValue = (features: readonly string[]) =>
  z
    .object({
      name: features.length > 0 ? z.enum(features as [string, ...string[]]) : z.string(),
      entity_id: z.string(),
      value: z.unknown(),
      as_of: z.string().openapi({ format: "date-time" }),
      freshness_ms: z.int(),
      served_from: z.enum(["cache", "compute", "fallback", "history"]),
      joined_by: z.enum(["event_time", "known_time"]),
    })
    .partial()
    .openapi("FeatureValue");

export const Assembly = z
  .object({
    context_id: z.string(),
    content: z.string(),
    token_count: z.int(),
    dropped: z.array(z.object({})),
    meta: z.object({}),
    record_hash: z.string(),
  })
  .partial()
  .openapi("Assembly");

export const RecordSummary = z
  .object({
    context_id: z.string(),
    created_at: z.string(),
    context_function: z.string(),
    environment: z.string(),
    record_hash: z.string(),
    previous_context_id: z.string(),
    token_count: z.int(),
  })
  .partial()
  .openapi("RecordSummary");

export const ContextRecord = z
  .object({})
  .openapi("ContextRecord", { description: "A CRS-001 Context Record in canonical form" });
export const Verification = z
  .object({ context_id: z.string(), ok: z.boolean(), checks: z.array(z.unknown()), failed: z.unknown() })
  .partial()
  .openapi("Verification");
export const Comparison = z
  .object({ verified: z.boolean(), verification: z.object({}), diff: z.object({}) })
  .partial()
  .openapi("Comparison");
export const Replay = z
  .object({
    original_id: z.string(),
    context_id: z.string(),
    mode: z.enum(["recorded", "live"]),
    same_content: z.boolean().nullable(),
    content: z.string(),
    token_count: z.int(),
    record_hash: z.string(),
    persisted: z.union([z.boolean(), z.literal("unknown")]),
    diff: z.object({}),
  })
  .partial()
  .openapi("Replay");
export const LedgerRowSchema = z
  .object({ context_id: z.string(), canonical_text: z.string() })
  .partial()
  .openapi("LedgerRow");

const KIND_SCHEMA: Record<InputKind, () => z.ZodType> = {
  string: () => z.string(),
  number: () => z.number(),
  integer: () => z.int(),
  boolean: () => z.boolean(),
  object: () => z.object({}).passthrough(),
  array: () => z.array(z.unknown()),
  any: () => z.unknown(),
};

/**
 * Registers `Inputs_<context>` for every context that declares its inputs, and returns the (documentation only)
 * body schema of POST /v1/context/{name}: that body keeps its kind-preserving parse and the engine's input check.
 */
export function registerContextInputs(app: OpenAPIHono<AppEnv>, definitions: Definitions): Schema {
  const refs: Schema[] = [];
  for (const name of [...definitions.contexts.keys()].sort()) {
    const spec = definitions.contexts.get(name)?.options.inputs;
    if (!spec) continue;
    const shape = Object.fromEntries(
      parseInputSpec(spec, name).map((d) => [
        d.name,
        d.optional ? KIND_SCHEMA[d.kind]().nullable().optional() : KIND_SCHEMA[d.kind](),
      ]),
    );
    app.openAPIRegistry.register(`Inputs_${name}`, z.strictObject(shape).openapi({ title: `Inputs of ${name}` }));
    refs.push({ $ref: `#/components/schemas/Inputs_${name}` });
  }
  return refs.length > 0 ? { oneOf: [...refs, { type: "object" }] } : { type: "object" };
}

/** The whole document, once every route is declared. */
export function openApiDocument(app: OpenAPIHono<AppEnv>, version: string): Schema {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "One of the server's FABRA_API_KEYS",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
  });
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "fabra",
      version,
      description:
        "Context Records for AI applications: features, context assembly, and the hash-verified record ledger.",
    },
    security: [{ bearer: [] }, { apiKey: [] }],
  }) as unknown as Schema;
}

/** Routes anyone may call (no API key): they say so in the document too. */
export const PUBLIC_ROUTE = { security: [] };

/** A handler of a declared route: its validated query via `c.req.valid("query")`; it answers with any Response. */
export type DeclaredHandler<R extends RouteConfig> = (
  c: Parameters<RouteHandler<R, AppEnv>>[0],
) => Response | Promise<Response>;

/** Adds a route declared with createRoute: documented in /openapi.json, its parameters checked before `handler`. */
export function serve<R extends RouteConfig>(app: OpenAPIHono<AppEnv>, route: R, handler: DeclaredHandler<R>): void {
  // The routes answer through sendJson/respond (lossless JSON, plain header objects), not hono's typed c.json.
  app.openapi(route, handler as unknown as RouteHandler<R, AppEnv>);
}
