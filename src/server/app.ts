// The HTTP app (hono): request ids, metrics, auth and the routes (bodies are read under the size limit in http.ts),
// with one error handler that maps every FabraError to its HTTP status and a JSON `{ error: { code, message, hint } }`,
// never a stack trace.
import { randomUUID } from "node:crypto";
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { FabraError } from "../errors.js";
import { errorBody, JSON_TYPE, respond, sendJson } from "./http.js";
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
const REQUEST_ID = /^[\w.:-]{1,128}$/;

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
  // Series handles per method → route → status: found with three map lookups, no key or label object per request.
  const seriesCache = new Map<string, Map<string, Map<number, RequestSeries>>>();
  const seriesFor = (method: string, route: string, status: number): RequestSeries => {
    let byRoute = seriesCache.get(method);
    if (!byRoute) {
      byRoute = new Map();
      seriesCache.set(method, byRoute);
    }
    let byStatus = byRoute.get(route);
    if (!byStatus) {
      byStatus = new Map();
      byRoute.set(route, byStatus);
    }
    let series = byStatus.get(status);
    if (!series) {
      series = {
        count: metrics.requests.labels(method, route, String(status)),
        latency: metrics.requestSeconds.labels(method, route),
      };
      byStatus.set(status, series);
    }
    return series;
  };

  app.use("*", async (c, next) => {
    // Headers straight from Node's raw header list: building a fetch Headers (or even Node's lazy headers object)
    // per request costs more than the few lookups done here.
    const raw = c.env?.incoming?.rawHeaders;
    const found = raw ? rawHeaders(raw) : null;
    const header = (name: keyof FoundHeaders): string | undefined => (found ? found[name] : c.req.header(name));
    const incoming = header("x-request-id");
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set("requestId", requestId);
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
            { authorization: header("authorization"), apiKey: header("x-api-key") },
            () => c.env?.incoming?.socket?.remoteAddress,
          ),
        );
      await next();
    } catch (err) {
      // Thrown by this middleware itself (auth, draining): hono's handler runs only for errors further in.
      c.res = respondError(err, c, deps.log);
    } finally {
      deps.state.inFlight--;
      const series = seriesFor(c.req.method, routeLabel(routePath(c, -1)), c.res.status);
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

/** The JSON error response for anything thrown while serving; 5xx are logged with the request id. */
function respondError(err: unknown, c: Context<AppEnv>, log: (line: string) => void): Response {
  const requestId = c.get("requestId") ?? randomUUID();
  if (err instanceof HTTPException) {
    // hono's own (e.g. a malformed request): keep its status, in our envelope.
    const status = err.status;
    return sendJson(
      c,
      {
        error: {
          code: status === 413 ? "PAYLOAD_TOO_LARGE" : status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT",
          message: err.message || "Bad request",
        },
      },
      status,
    );
  }
  const { status, body } = errorBody(err, requestId);
  if (status >= 500 && body.error.code !== "SHUTTING_DOWN") {
    const detail = err instanceof FabraError && err.cause instanceof Error ? err.cause : err;
    log(
      `[${requestId}] ${status} ${body.error.code} ${c.req.method} ${c.req.path}: ${err instanceof Error ? err.message : String(err)}\n${detail instanceof Error ? (detail.stack ?? "") : ""}`.trimEnd(),
    );
  }
  return sendJson(c, body, status, status === 401 ? { "www-authenticate": 'Bearer realm="fabra"' } : undefined);
}

interface RequestSeries {
  count: { inc(): void };
  latency: { observe(seconds: number): void };
}

/** The headers the middleware reads. */
interface FoundHeaders {
  "x-request-id"?: string;
  authorization?: string;
  "x-api-key"?: string;
}

/**
 * The headers the middleware reads, from Node's [name, value, name, value, ...] list in one pass (names in any case,
 * compared without lower-casing copies); the first of each wins.
 */
function rawHeaders(raw: string[]): FoundHeaders {
  const found: FoundHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const key =
      name.length === 12 && sameLetters(name, "x-request-id")
        ? "x-request-id"
        : name.length === 13 && sameLetters(name, "authorization")
          ? "authorization"
          : name.length === 9 && sameLetters(name, "x-api-key")
            ? "x-api-key"
            : undefined;
    if (key !== undefined && found[key] === undefined) found[key] = raw[i + 1];
  }
  return found;
}

/** `name` equals the lower-case ASCII `lower` ignoring case (same length). */
function sameLetters(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function isViewerPath(path: string): boolean {
  return path === "/ui" || path.startsWith("/ui/");
}

function routeLabel(path: string): string {
  return path === "" || path === "*" || path === "/*" ? "(unmatched)" : path;
}
