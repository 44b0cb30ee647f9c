// The HTTP app (hono): request ids, metrics, auth and the routes (bodies are read under the size limit in http.ts),
// with one error handler that maps every FabraError to its HTTP status and a JSON `{ error: { code, message, hint } }`,
// never a stack trace.
import { randomUUID } from "node:crypto";
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { routePath } from "hono/route";
import { FabraError } from "../errors.js";
import { errorResponse, JSON_TYPE, respond, sendJson } from "./http.js";
import { readHeaders, requestIdOf } from "./request-headers.js";
import { errors, openApiDocument, PUBLIC_ROUTE, serve } from "./openapi.js";
import { renderMetrics } from "./metrics.js";
import { contextRoutes } from "./routes/contexts.js";
import { featureRoutes } from "./routes/features.js";
import { healthRoutes } from "./routes/health.js";
import { ingestRoutes } from "./routes/ingest.js";
import { indexRoutes } from "./routes/indexes.js";
import { ledgerRoutes } from "./routes/ledger.js";
import { pythonRoutes } from "./routes/python.js";
import { receiptRoutes } from "./routes/receipts.js";
import { transparencyLogRoutes } from "./routes/tlog.js";
import { incidentRoutes } from "./routes/incident.js";
import type { AppEnv, ServerDeps } from "./types.js";
import { createUiApp } from "../ui/app.js";
import { validationHook } from "./validate.js";

/** Routes anyone may call: probes and the API description. */
const PUBLIC = new Set(["/health", "/ready", "/openapi.json"]);

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics",
  responses: {
    200: { description: "Text exposition format", content: { "text/plain": { schema: z.string() } } },
    ...errors(401),
  },
});
const openApiRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  summary: "This document",
  ...PUBLIC_ROUTE,
  responses: { 200: { description: "OpenAPI 3.1", content: { "application/json": { schema: z.object({}) } } } },
});

export function createApp(deps: ServerDeps): OpenAPIHono<AppEnv> {
  // Parameters are checked by each route's zod schemas; a failure is thrown to onError like any FabraError.
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const { metrics } = deps;
  app.use("*", async (c, next) => {
    const headers = readHeaders(c.env?.incoming, c.req.raw);
    c.set("requestId", requestIdOf(headers));
    c.set("bodyLimit", deps.bodyLimit);
    const started = performance.now();
    deps.state.inFlight++;
    try {
      if (deps.state.draining) {
        c.set("closeConnection", true);
        if (c.req.path !== "/health")
          throw new FabraError("SHUTTING_DOWN", "The server is shutting down", {
            hint: "Retry against another instance, or once it is back.",
          });
      }
      // The viewer (/ui) checks the same auth itself: a key from its login cookie too, and a login page instead of 401.
      if (!PUBLIC.has(c.req.path) && !isViewerPath(c.req.path))
        c.set(
          "credential",
          deps.auth.check(
            { authorization: headers.authorization, apiKey: headers["x-api-key"] },
            () => c.env?.incoming?.socket?.remoteAddress,
          ),
        );
      await next();
    } catch (err) {
      // Thrown by this middleware itself (auth, draining): hono's handler runs only for errors further in.
      c.res = respondError(err, c, deps.log);
    } finally {
      deps.state.inFlight--;
      const series = metrics.requestSeries(c.req.method, routeLabel(routePath(c, -1)), c.res.status);
      series.count.inc();
      series.latency.observe((performance.now() - started) / 1000);
    }
  });

  healthRoutes(app, deps);
  serve(app, metricsRoute, async (c) => {
    metrics.inFlight.set(deps.state.inFlight);
    const degraded = deps.runtime.degraded;
    metrics.degradedReads.set({ kind: "online_read_failure" }, degraded.onlineReadFailures);
    metrics.degradedReads.set({ kind: "fallback" }, degraded.fallbackReads);
    metrics.degradedReads.set({ kind: "rejected_cache_entry" }, degraded.rejectedCacheEntries);
    return respond(c, await renderMetrics(metrics), 200, metrics.registry.contentType);
  });
  let openapi = "";
  serve(app, openApiRoute, (c) => respond(c, openapi, 200, JSON_TYPE));
  featureRoutes(app, deps);
  ingestRoutes(app, deps);
  contextRoutes(app, deps);
  ledgerRoutes(app, deps);
  indexRoutes(app, deps);
  pythonRoutes(app, deps);
  receiptRoutes(app, deps);
  transparencyLogRoutes(app, deps);
  incidentRoutes(app, deps);
  app.route("/ui", createUiApp({ runtime: deps.runtime, auth: deps.auth, log: deps.log }));
  openapi = JSON.stringify(openApiDocument(app, deps.version));

  app.notFound((c) =>
    sendJson(
      c,
      {
        error: {
          code: "NOT_FOUND",
          message: `No route ${c.req.method} ${c.req.path}`,
          hint: "GET /openapi.json lists every route.",
        },
      },
      404,
    ),
  );

  app.onError((err, c) => respondError(err, c, deps.log));
  return app;
}

/** The error response for anything thrown while serving (http.ts errorResponse), for the request in `c`. */
function respondError(err: unknown, c: Context<AppEnv>, log: (line: string) => void): Response {
  const request = {
    requestId: c.get("requestId") ?? randomUUID(),
    closeConnection: c.get("closeConnection"),
    method: c.req.method,
    path: c.req.path,
  };
  return errorResponse(err, request, log);
}

function isViewerPath(path: string): boolean {
  return path === "/ui" || path.startsWith("/ui/");
}

function routeLabel(path: string): string {
  return path === "" || path === "*" || path === "/*" ? "(unmatched)" : path;
}
