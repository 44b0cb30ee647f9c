// The original Python implementation's read routes, so its clients can point at fabra: GET /v1/record/{ref} and
// GET /v1/context/{id} (a record by ctx_ id, bare UUID or sha256: record hash, as stored), and the diff of two
// records. The original's diff route shape is not known; this one mirrors POST /v1/contexts/diff (same answer).
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { comparisonJson } from "../../api/shapes.js";
import { JSON_TYPE, respond, sendJson } from "../http.js";
import { Comparison, ContextRecord, errors, json, pathParam, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";

const REF = "A record: its context id (ctx_<uuid>, or the bare UUID) or its record hash (sha256:<64 hex>)";

const route = {
  record: createRoute({
    method: "get",
    path: "/v1/record/{ref}",
    summary: "A record, as stored (canonical JSON), by context id or record hash (the original's route)",
    request: { params: z.object({ ref: pathParam(REF) }) },
    responses: { 200: json(ContextRecord, "The record"), ...errors(400, 401, 404) },
  }),
  context: createRoute({
    method: "get",
    path: "/v1/context/{id}",
    summary: "A record, as stored (canonical JSON), by context id or record hash (the original's route)",
    request: { params: z.object({ id: pathParam(REF) }) },
    responses: { 200: json(ContextRecord, "The record"), ...errors(400, 401, 404) },
  }),
  diff: createRoute({
    method: "get",
    path: "/v1/context/{a}/diff/{b}",
    summary: "Verify two records and diff them (the answer of POST /v1/contexts/diff)",
    request: { params: z.object({ a: pathParam(REF), b: pathParam(REF) }) },
    responses: { 200: json(Comparison, "The diff, and whether both verified"), ...errors(400, 401, 404) },
  }),
};

export function pythonRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const ledger = deps.runtime.ledger;
  // The stored canonical text, byte for byte, so clients can verify it themselves.
  const stored = async (ref: string) => (await ledger.row(ref)).canonicalText;

  serve(app, route.record, async (c) => respond(c, await stored(c.req.param("ref")), 200, JSON_TYPE));
  serve(app, route.context, async (c) => respond(c, await stored(c.req.param("id")), 200, JSON_TYPE));
  serve(app, route.diff, async (c) =>
    sendJson(c, comparisonJson(await ledger.diff({ id: c.req.param("a") }, { id: c.req.param("b") }))),
  );
}
