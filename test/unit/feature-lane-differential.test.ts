// The feature read lane (routes/features.ts featureReadLane) against the declared route, over many generated
// requests: the same request is handed once to `fabra serve`'s request handler (the lane, else hono's adapter) and
// once to hono's adapter alone, as Node's IncomingMessage / ServerResponse, and both must put the same bytes on the
// wire (status line, headers in their order, body; the request id masked), be counted under the same series, logged
// the same, with nothing left in flight. Run with API keys and without (loopback only). The clock is frozen (Date):
// both answers carry the same freshness (and so the same content-length).
import fc from "fast-check";
import { getRequestListener } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import { createApp } from "../../src/server/app.js";
import { createAuth } from "../../src/server/auth.js";
import { createServerMetrics } from "../../src/server/metrics.js";
import { featureReadLane } from "../../src/server/routes/features.js";
import type { ServerDeps } from "../../src/server/types.js";
import { exchange, type NodeHandler } from "../helpers/node-exchange.js";

const LOCAL_TOKEN = "per-run-token";

let fabra: FabraRuntime;
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
  const user = entity("user");
  const tier = feature({ entity: user }, (id: string) => {
    if (id === "boom") throw new Error("the tier service is down");
    return `tier of ${id}`;
  });
  fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: ":memory:" } },
    // Names a URL parser takes for dot segments: hono never sees them as the path's last segment.
    definitions: {
      user,
      tier,
      dot: feature({ entity: user, name: "." }, (id: string) => `dot ${id}`),
      dots: feature({ entity: user, name: ".." }, (id: string) => `dots ${id}`),
    },
    warn: () => {},
  });
});
afterAll(async () => {
  vi.useRealTimers();
  await fabra.close();
});

function server(apiKeys: string[]) {
  const logs: string[] = [];
  const deps: ServerDeps = {
    runtime: fabra,
    metrics: createServerMetrics(),
    auth: createAuth(apiKeys, LOCAL_TOKEN),
    bodyLimit: 1024,
    state: { draining: false, inFlight: 0 },
    log: (line) => logs.push(line),
    version: "9.9.9",
    ledgerWrites: false,
  };
  const routed = getRequestListener(createApp(deps).fetch);
  const lane = featureReadLane(deps);
  const laned: NodeHandler = (incoming, outgoing) => lane(incoming, outgoing) || routed(incoming, outgoing);
  return { deps, logs, routed, laned };
}

// Generated requests: paths near the lane's (encodings, slashes, dot segments), queries near `entity_id=<plain>`.
const name = fc.constantFrom(
  "tier",
  "tier",
  "tier",
  "tier",
  "nope",
  "ti%72",
  "tier/",
  "",
  ".",
  "..",
  "Tier",
  "tier.",
  "%74ier",
);
const idChar = fc.constantFrom(..."aZ09-._~", "%20", "%41", "+", "=", "&", "/", "?", ":", "@", "!", "*", "'", "%");
const entityId = fc.oneof(
  fc.constantFrom("u_1", "boom", "b%6Fom", "", "u~1", "-", "."),
  fc.array(idChar, { minLength: 1, maxLength: 8 }).map((cs) => cs.join("")),
);
const query = fc.oneof(
  { arbitrary: entityId.map((id) => `?entity_id=${id}`), weight: 8 },
  fc.tuple(entityId, entityId).map(([a, b]) => `?entity_id=${a}&entity_id=${b}`),
  entityId.map((id) => `?entity_id=${id}&x=1`),
  entityId.map((id) => `?x=1&entity_id=${id}`),
  entityId.map((id) => `?entity_id=${id}&as_of=2026-01-01T00:00:00Z`),
  entityId.map((id) => `?entity_id=${id}&joined_by=nope`),
  entityId.map((id) => `?Entity_id=${id}`),
  entityId.map((id) => `?entity_id=${id}#f`),
  fc.constantFrom("", "?", "?entity_id", "?entity_id=", `?entity_id=${"a".repeat(3000)}`),
);
const path = fc
  .tuple(
    fc.constantFrom(
      "/v1/features/",
      "/v1/features/",
      "/v1/features/",
      "/v1/features//",
      "/V1/features/",
      "/v1/x/../features/",
    ),
    name,
    query,
  )
  .map(([prefix, n, q]) => `${prefix}${n}${q}`);
const credential = fc.constantFrom(
  "Bearer k",
  "bearer k",
  "BEARER   k",
  "Bearer\tk",
  "Bearer k ",
  "Bearer  k2",
  `Bearer ${LOCAL_TOKEN}`,
  "Bearer nope",
  "Bearer",
  "Bearer ",
  "Basic k",
  "k",
  "Bearer k\u00e9",
  `Bearer ${"k".repeat(200)}`,
);
const header = fc.oneof(
  credential.map((v) => ["Authorization", v] as const),
  credential.map((v) => ["authorization", v] as const),
  fc.constantFrom("k", "k2", "nope", "", " k ", LOCAL_TOKEN).map((v) => ["X-API-Key", v] as const),
  fc.constantFrom("r-1", "bad id with spaces", "").map((v) => ["X-Request-Id", v] as const),
  fc.constant(["Accept", "application/json"] as const),
);
const fuzzed = fc.record({
  method: fc.constantFrom("GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"),
  path,
  headers: fc.oneof(
    fc.array(header, { maxLength: 3 }),
    fc
      .tuple(fc.constantFrom("Bearer k", `Bearer ${LOCAL_TOKEN}`), fc.array(header, { maxLength: 2 }))
      .map(([good, rest]) => [["Authorization", good] as const, ...rest]),
  ),
  remoteAddress: fc.constantFrom("127.0.0.1", "::1", "::ffff:127.0.0.1", "10.0.0.7", undefined),
});
// Reads the lane takes (when auth lets them in), with headers around the credential.
const plain = fc.record({
  method: fc.constant("GET"),
  path: fc.stringMatching(/^[\w.~-]{1,12}$/).map((id) => `/v1/features/tier?entity_id=${id}`),
  headers: fc
    .tuple(
      fc.array(header, { maxLength: 2 }),
      fc.constantFrom(["Authorization", "Bearer k"] as const, ["X-API-Key", LOCAL_TOKEN] as const),
    )
    .map(([rest, good]) => [good, ...rest]),
  remoteAddress: fc.constantFrom("127.0.0.1", "10.0.0.7"),
});
const request = fc.oneof(fuzzed, plain);
type Generated = typeof fuzzed extends fc.Arbitrary<infer T> ? T : never;

type App = ReturnType<typeof server>;

/** The bytes answered, what it counted, and its log lines, with the request id (new per request) masked. */
async function send(s: App, r: Generated, laneMayAnswer: boolean) {
  const logsBefore = s.logs.length;
  const before = await s.deps.metrics.requests.get();
  const wire = await exchange(laneMayAnswer ? s.laned : s.routed, {
    method: r.method,
    url: r.path,
    rawHeaders: r.headers.flat(),
    remoteAddress: r.remoteAddress,
  });
  const after = await s.deps.metrics.requests.get();
  const counted = after.values
    .map((v) => ({
      ...v.labels,
      by: v.value - (before.values.find((b) => sameLabels(b.labels, v.labels))?.value ?? 0),
    }))
    .filter((v) => v.by !== 0);
  const id = /\r\nx-request-id: ([^\r]*)\r\n/.exec(wire)?.[1] ?? "";
  const mask = (text: string) => (id ? text.split(id).join("<id>") : text);
  return {
    // Node's Date header comes from a cache it renews every second on a real timer (filled before the clock froze
    // when another test file ran first in this worker): its value is masked, its place is compared.
    wire: mask(wire).replace(/\r\nDate: [^\r]*\r\n/, "\r\nDate: <date>\r\n"),
    counted,
    // Without the stack frames below the feature's (hono's dispatch, or the lane's own caller).
    logs: s.logs.slice(logsBefore).map((line) => mask(line).replace(/\n\s+at (?!.*compute).*$/gm, "")),
    inFlight: s.deps.state.inFlight,
  };
}

function sameLabels(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** A read the lane answers itself (when auth lets it in). */
const PLAIN = /^\/v1\/features\/tier\?entity_id=[\w.~-]+$/;

function differential(apiKeys: string[]) {
  return async () => {
    const s = server(apiKeys);
    let laneAnswered = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        await send(s, r, false); // warms the cache, so both answers below read the same source
        const checked = await send(s, r, false);
        const laned = await send(s, r, true);
        expect(laned, `${r.method} ${r.path} ${JSON.stringify(r.headers)} from ${r.remoteAddress}`).toEqual(checked);
        if (laned.wire.startsWith("HTTP/1.1 200 ") && r.method === "GET" && PLAIN.test(r.path)) laneAnswered++;
      }),
      { numRuns: 400 },
    );
    // The generator reaches the lane's answers, not only the requests it leaves to hono.
    expect(laneAnswered).toBeGreaterThan(20);
  };
}

// 400 generated requests × 3 exchanges each: ~5-10 s on an idle machine, past the default 30 s under heavy load.
const GENERATED_TIMEOUT_MS = 120_000;

describe("featureReadLane answers exactly as the declared route does (generated requests)", () => {
  it("with API keys", differential(["k", "k2"]), GENERATED_TIMEOUT_MS);
  it("without API keys (loopback clients only)", differential([]), GENERATED_TIMEOUT_MS);
});
