// Contexts: POST /v1/context/:name assembles one (and writes its record); /v1/contexts/* list, fetch, verify,
// diff and replay records.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ContextResult } from "../../define/types.js";
import { FabraError } from "../../errors.js";
import { assemblyJson, comparisonJson, recordPageJson, replayJson, verificationJson } from "../../api/shapes.js";
import { replayContext } from "../../engine/context/replay.js";
import { toPlain } from "../../record/json.js";
import { JSON_TYPE, readJsonObject, respond, sendJson } from "../http.js";
import type { ServerMetrics } from "../metrics.js";
import {
  Assembly,
  Comparison,
  ContextRecord,
  contextIdParam,
  errors,
  json,
  pathParam,
  RecordSummary,
  Replay,
  registerContextInputs,
  serve,
  Verification,
} from "../openapi.js";
import type { RecordFilter, ValueFilter } from "../../stores/types.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { documented, query, readBody } from "../validate.js";

export const MAX_LIST = 1000;

/** The filters GET /v1/contexts and GET /v1/ledger/rows share. */
export const listFilters = {
  function: query.text("Only records of this context function"),
  since: query.time("since", "created_at >= this (ISO-8601, or a duration ago: 1h, 7d)"),
  until: query.time("until", "created_at < this (ISO-8601, or a duration ago)"),
  input: query.valueFilters("input", "name=value: records whose inputs hold it (repeatable; all must hold)"),
  feature: query.valueFilters("feature", "name=value: records that used this feature value (repeatable)"),
  status: query.freshness("status", "Records with this freshness status"),
  has_drops: query.bool("has_drops", "true: records that dropped items; false: records that dropped none"),
  replays_of: query.contextId("Replays of this record"),
  order: query.choice("order", ["desc", "asc"], "desc", "Newest (desc, default) or oldest (asc) first"),
  cursor: query.contextId("Continue after this context_id (the previous page's next_cursor)"),
};

/** The record filter a validated list query names (GET /v1/contexts, /v1/ledger/rows, /v1/ledger/count). */
export function filterOfQuery(q: {
  function?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  input?: ValueFilter[] | undefined;
  feature?: ValueFilter[] | undefined;
  status?: RecordFilter["freshnessStatus"];
  has_drops?: boolean | undefined;
  replays_of?: string | undefined;
}): RecordFilter {
  return {
    contextFunction: q.function,
    since: q.since,
    until: q.until,
    inputs: q.input,
    features: q.feature,
    freshnessStatus: q.status,
    hasDrops: q.has_drops,
    replaysOf: q.replays_of,
  };
}

const DiffBody = z.object({
  a: z.string({
    error: (issue) => (issue.input === undefined ? 'The body is missing "a"' : '"a" in The body must be a string'),
  }),
  b: z.string({
    error: (issue) => (issue.input === undefined ? 'The body is missing "b"' : '"b" in The body must be a string'),
  }),
});
const ReplayBody = z.object({ live: z.boolean({ error: '"live" must be true or false' }).nullish() });

function routes(contexts: readonly string[], inputsBody: Record<string, unknown>) {
  return {
    assemble: createRoute({
      method: "post",
      path: "/v1/context/{name}",
      summary: "Assemble a context with the function's inputs and write its record",
      request: {
        params: z.object({ name: pathParam("Context function", contexts) }),
        // Documentation only: the inputs keep their kind-preserving parse and the engine's declared-input check.
        body: { required: true, ...json(inputsBody, "The inputs, by parameter name") },
      },
      responses: { 200: json(Assembly, "The assembled context"), ...errors(400, 401, 404, 413, 422, 503) },
    }),
    list: createRoute({
      method: "get",
      path: "/v1/contexts",
      summary: "List records, newest first",
      request: {
        query: z.object({
          ...listFilters,
          limit: query.int("limit", 20, MAX_LIST, `At most this many (1..${MAX_LIST}, default 20)`),
        }),
      },
      responses: {
        200: json(z.object({ items: z.array(RecordSummary), next_cursor: z.string().nullable() }), "A page of records"),
        ...errors(400, 401),
      },
    }),
    get: createRoute({
      method: "get",
      path: "/v1/contexts/{id}",
      summary: "A record, as stored (canonical JSON)",
      request: { params: contextIdParam },
      responses: { 200: json(ContextRecord, "The record"), ...errors(400, 401, 404) },
    }),
    verify: createRoute({
      method: "get",
      path: "/v1/contexts/{id}/verify",
      summary: "Recompute a record's hashes (and signature)",
      request: { params: contextIdParam },
      responses: { 200: json(Verification, "ok tells whether it is intact"), ...errors(400, 401, 404) },
    }),
    diff: createRoute({
      method: "post",
      path: "/v1/contexts/diff",
      summary: "Verify two records and diff them",
      request: { body: { required: true, ...json(documented(DiffBody), "Two context ids") } },
      responses: { 200: json(Comparison, "The diff, and whether both verified"), ...errors(400, 401, 404, 413) },
    }),
    replay: createRoute({
      method: "post",
      path: "/v1/contexts/{id}/replay",
      summary:
        "Re-run a record's context function with its recorded inputs (recorded data, or live) and diff the result",
      request: {
        params: contextIdParam,
        body: { required: false, ...json(documented(ReplayBody), "live: use today's data") },
      },
      responses: {
        200: json(Replay, "The new record and its diff against the original"),
        ...errors(400, 401, 404, 422, 503),
      },
    }),
  };
}

export function contextRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const { runtime, metrics } = deps;
  const route = routes(
    [...runtime.definitions.contexts.keys()].sort(),
    registerContextInputs(app, runtime.definitions),
  );

  serve(app, route.assemble, async (c) => {
    const name = c.req.param("name");
    runtime.contextDef(name); // an unknown context is a 404 whatever the body says
    const inputs = await readJsonObject(c, `The inputs of context ${name}`);
    const started = performance.now();
    try {
      const result = await runtime.runContext(name, toPlain(inputs) as Record<string, unknown>, {
        recordedInputs: inputs,
      });
      observeAssembly(metrics, name, result, (performance.now() - started) / 1000);
      return sendJson(c, assemblyJson(result));
    } catch (err) {
      metrics.assemblies.inc({ function: name, outcome: err instanceof FabraError ? err.code : "INTERNAL" });
      throw err;
    }
  });

  serve(app, route.list, async (c) => {
    const q = c.req.valid("query");
    const limit = q.limit;
    const rows = await runtime.ledger.list({
      ...filterOfQuery(q),
      order: q.order,
      limit,
      cursor: q.cursor,
    });
    return sendJson(c, recordPageJson(rows, limit));
  });

  serve(app, route.get, async (c) => {
    const row = await runtime.ledger.row(c.req.param("id"));
    // The stored canonical text, byte for byte, so clients can verify it themselves.
    return respond(c, row.canonicalText, 200, JSON_TYPE);
  });

  serve(app, route.verify, async (c) => {
    return sendJson(c, verificationJson((await runtime.ledger.verify(c.req.param("id"))).verification));
  });

  serve(app, route.diff, async (c) => {
    const { a, b } = await readBody(c, DiffBody, 'Send {"a": "<context id>", "b": "<context id>"}.');
    return sendJson(c, comparisonJson(await runtime.ledger.diff({ id: a }, { id: b })));
  });

  serve(app, route.replay, async (c) => {
    const live =
      (await readBody(c, ReplayBody, 'Send {"live": true} to replay with today\'s data.', true)).live ?? false;
    const mode = live ? "live" : "recorded";
    try {
      const result = await replayContext(runtime, c.req.param("id"), { live });
      metrics.replays.inc({ mode, outcome: "ok" });
      // A recorded replay reads no feature (values come from the record or history): only a live one counts reads.
      observeAssembly(metrics, result.original.context_function, result.replay, result.replay.meta.latencyMs / 1000, {
        featureReads: live,
      });
      return sendJson(c, replayJson(result));
    } catch (err) {
      metrics.replays.inc({ mode, outcome: err instanceof FabraError ? err.code : "INTERNAL" });
      throw err;
    }
  });
}

/** Counts an assembly: outcome, latency, drops, budget, stale features and chunks, feature sources (unless `featureReads` is false). */
export function observeAssembly(
  metrics: ServerMetrics,
  name: string,
  result: ContextResult,
  seconds: number,
  options: { featureReads?: boolean } = {},
): void {
  const r = result.record;
  metrics.assemblies.inc({ function: name, outcome: "ok" });
  metrics.assemblySeconds.observe({ function: name }, seconds);
  for (const d of r.assembly.dropped_items) metrics.droppedItems.inc({ function: name, reason: d.reason });
  if (result.meta.budgetExceeded) metrics.budgetExceeded.inc({ function: name });
  const featureNames = new Set(r.features.map((f) => f.name));
  for (const v of r.assembly.freshness_violations) {
    if (featureNames.has(v)) metrics.staleFeatures.inc({ feature: v });
    else metrics.staleChunks.inc({ function: name });
  }
  if (options.featureReads !== false) for (const f of r.features) metrics.featureRead(f.name, f.source);
}
