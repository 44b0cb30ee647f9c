// Contexts: POST /v1/context/:name assembles one (and writes its record); /v1/contexts/* list, fetch, verify,
// diff and replay records.
import type { Hono } from "hono";
import type { ContextResult } from "../../define/types.js";
import { FabraError } from "../../errors.js";
import { compareRecords, loadVerified } from "../../engine/ledger/compare.js";
import { assemblyJson, comparisonJson, recordPageJson, replayJson, verificationJson } from "../../api/shapes.js";
import { getLedgerRow, verifyLedgerRow } from "../../engine/ledger/ledger.js";
import { replayContext } from "../../engine/context/replay.js";
import { normalizeContextId } from "../../record/id.js";
import { toPlain } from "../../record/json-value.js";
import { verifyOptionsFromEnv } from "../../record/verify-env.js";
import { JSON_TYPE, respond, queryChoice, queryDatetime, queryInt, queryString, readJsonObject, sendJson, stringField } from "../http.js";
import type { ServerMetrics } from "../metrics.js";
import type { AppEnv, ServerDeps } from "../types.js";

export const MAX_LIST = 1000;

export function contextRoutes(app: Hono<AppEnv>, deps: ServerDeps): void {
  const { runtime, metrics } = deps;

  app.post("/v1/context/:name", async (c) => {
    const name = c.req.param("name");
    runtime.contextDef(name); // an unknown context is a 404 whatever the body says
    const inputs = await readJsonObject(c, `The inputs of context ${name}`);
    const started = performance.now();
    try {
      const result = await runtime.runContext(name, toPlain(inputs) as Record<string, unknown>, { recordedInputs: inputs });
      observeAssembly(metrics, name, result, (performance.now() - started) / 1000);
      return sendJson(c, assemblyJson(result));
    } catch (err) {
      metrics.assemblies.inc({ function: name, outcome: err instanceof FabraError ? err.code : "INTERNAL" });
      throw err;
    }
  });

  app.get("/v1/contexts", async (c) => {
    const limit = queryInt(c, "limit", 20, MAX_LIST);
    const cursor = queryString(c, "cursor");
    const rows = await runtime.stores.records.list({
      contextFunction: queryString(c, "function"),
      since: queryDatetime(c, "since"),
      until: queryDatetime(c, "until"),
      order: queryChoice(c, "order", ["desc", "asc"] as const, "desc"),
      limit,
      cursor: cursor === undefined ? undefined : normalizeContextId(cursor),
    });
    return sendJson(c, recordPageJson(rows, limit));
  });

  app.get("/v1/contexts/:id", async (c) => {
    const row = await getLedgerRow(runtime.stores.records, c.req.param("id"));
    // The stored canonical text, byte for byte, so clients can verify it themselves.
    return respond(c, row.canonicalText, 200, JSON_TYPE);
  });

  app.get("/v1/contexts/:id/verify", async (c) => {
    const row = await getLedgerRow(runtime.stores.records, c.req.param("id"));
    return sendJson(c, verificationJson(verifyLedgerRow(row, verifyOptionsFromEnv(process.env, deps.runtime.settings.signing.mode))));
  });

  app.post("/v1/contexts/diff", async (c) => {
    const body = await readJsonObject(c, "The body");
    const a = stringField(body, "a", "The body");
    const b = stringField(body, "b", "The body");
    const opts = verifyOptionsFromEnv(process.env, deps.runtime.settings.signing.mode);
    const [ra, rb] = await Promise.all([loadVerified(runtime.stores.records, a, opts), loadVerified(runtime.stores.records, b, opts)]);
    return sendJson(c, comparisonJson(compareRecords(ra, rb)));
  });

  app.post("/v1/contexts/:id/replay", async (c) => {
    const body = await readJsonObject(c, "The body", true);
    const live = body.live ?? false;
    if (typeof live !== "boolean") throw new FabraError("INVALID_ARGUMENT", '"live" must be true or false', { hint: 'Send {"live": true} to replay with today\'s data.' });
    const mode = live ? "live" : "recorded";
    try {
      const result = await replayContext(runtime, c.req.param("id"), { live });
      metrics.replays.inc({ mode, outcome: "ok" });
      // A recorded replay reads no feature (values come from the record or history): only a live one counts reads.
      observeAssembly(metrics, result.original.context_function, result.replay, result.replay.meta.latencyMs / 1000, { featureReads: live });
      return sendJson(c, replayJson(result));
    } catch (err) {
      metrics.replays.inc({ mode, outcome: err instanceof FabraError ? err.code : "INTERNAL" });
      throw err;
    }
  });
}

/** Counts an assembly: outcome, latency, drops, budget, stale features and chunks, feature sources (unless `featureReads` is false). */
export function observeAssembly(metrics: ServerMetrics, name: string, result: ContextResult, seconds: number, options: { featureReads?: boolean } = {}): void {
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
  if (options.featureReads !== false) for (const f of r.features) metrics.featureReads.inc({ feature: f.name, source: f.source });
}
