// GET /health (liveness: the process answers) and GET /ready (every store's probe passes, the event queue's too,
// and the server is not draining); the probes are the stores' own, the ones `fabra doctor` runs.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Probed } from "../../stores/types.js";
import { sendJson } from "../http.js";
import { json, PUBLIC_ROUTE, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";

const CHECK_TIMEOUT_MS = 2000;

const route = {
  health: createRoute({
    method: "get",
    path: "/health",
    summary: "Liveness",
    ...PUBLIC_ROUTE,
    responses: {
      200: json(
        z.object({ status: z.enum(["ok", "draining"]), version: z.string(), uptime_s: z.int() }),
        "The process is up",
      ),
    },
  }),
  ready: createRoute({
    method: "get",
    path: "/ready",
    summary: "Readiness: every store (and the event queue) answers",
    ...PUBLIC_ROUTE,
    responses: { 200: json(z.object({}), "Ready"), 503: json(z.object({}), "A store is unreachable, or draining") },
  }),
};

export function healthRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const started = Date.now();
  serve(app, route.health, (c) =>
    sendJson(c, {
      status: deps.state.draining ? "draining" : "ok",
      version: deps.version,
      uptime_s: Math.round((Date.now() - started) / 1000),
    }),
  );

  serve(app, route.ready, async (c) => {
    // The event queue too (Redis Streams in production): POST /v1/ingest and the ingest consumer need it.
    const { records, offline, online, vector, events } = deps.runtime.stores;
    const stores: Record<string, Probed> = { records, offline, online, vector, events };
    const checks: Record<string, { ok: boolean; ms: number; error?: string }> = {};
    await Promise.all(
      Object.entries(stores).map(async ([name, store]) => {
        const t0 = performance.now();
        try {
          const failed = (await withTimeout(store.probe(), CHECK_TIMEOUT_MS, name)).find(
            (check) => check.state === "fail",
          );
          const ms = round(performance.now() - t0);
          checks[name] = failed ? { ok: false, ms, error: `${failed.name}: ${failed.detail}` } : { ok: true, ms };
        } catch (err) {
          checks[name] = {
            ok: false,
            ms: round(performance.now() - t0),
            error: err instanceof Error ? err.message : String(err),
          };
        }
      }),
    );
    const ready = !deps.state.draining && Object.values(checks).every((x) => x.ok);
    const sorted = Object.fromEntries(Object.entries(checks).sort(([a], [b]) => (a < b ? -1 : 1)));
    return sendJson(
      c,
      { status: ready ? "ready" : deps.state.draining ? "draining" : "not_ready", checks: sorted },
      ready ? 200 : 503,
    );
  });
}

const round = (ms: number) => Math.round(ms * 100) / 100;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
