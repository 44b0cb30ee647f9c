// "serve": `fabra serve` on loopback under autocannon. Req/s and p99 latency for GET /v1/features/:name (served
// from the memory cache) and POST /v1/context/:name (assembly + a DuckDB record per request), against a bare hono
// route on the same Node adapter measured in the same run. Target (issue 12): feature GET >= 0.8 × the bare route's
// req/s, both without and with an API key; the headline ratio is the worse of the two.
//
// The servers run in a child process (this file, forked) and autocannon in this one, as a client would. Local mode
// as configured by default (no API keys, loopback clients only), and the same read against a server with an API key
// configured (production-style auth: a constant-time compare per request); request ids and metrics are on in both.
// Each round measures bare, keyless and keyed back to back (the order rotates) and every ratio is the median of the
// rounds' own ratios: on a shared machine the background load drifts, and reads measured back to back see about
// the same conditions. The server's CPU time per request is reported too, with the same ratios taken from it:
// unlike req/s it hardly depends on what else the machine is doing.
// Run alone: npm run build && node bench/serve.bench.js [--duration 4] [--rounds 3] [--connections 50]
import { fileURLToPath, pathToFileURL } from "node:url";
import { answerParent, cannon, forkServeChild, listenBare, median, round, startBenchServer } from "./lib.js";

const TARGET = 0.8;
/** What the API-key read may cost over the keyless one (issue 12: the keyed route at >= 0.9 of the keyless). */
const KEYED_TARGET = 0.9;
const KEY = "bench-key";
const SELF = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------ the servers (child process)

async function serveChild() {
  const { Hono } = await import("hono");
  const offline = { type: "duckdb", path: ":memory:" };
  // Local mode as configured by default (no API keys: loopback clients only), and the same with an API key.
  const local = await startBenchServer({ offline });
  const keyed = await startBenchServer({ offline, apiKeys: [KEY] });

  // The bare route answers with the same payload a feature read returns, without fabra in between.
  const bareApp = new Hono();
  const payload = {
    name: "userTier",
    entity_id: "u_1",
    value: "enterprise",
    as_of: "2026-03-01T09:15:02.123000Z",
    freshness_ms: 0,
    served_from: "cache",
  };
  bareApp.get("/bare/:name", (c) =>
    c.json({ ...payload, name: c.req.param("name"), entity_id: c.req.query("entity_id") }),
  );
  const bare = await listenBare(bareApp);

  answerParent({
    records: async () => ({ records: await local.fabra.stores.records.count() }),
    exit: async () => {
      bare.close();
      await Promise.all([local.server.close(), keyed.server.close()]);
    },
  });
  process.send({ fabra: local.server.url, keyed: keyed.server.url, bare: bare.url });
}

// ------------------------------------------------------------------ the load (this process)

async function load(ask, url, { duration, connections, method = "GET", body, headers = {} }) {
  const { result, cpu_us_per_req } = await cannon(ask, {
    url,
    method,
    body,
    headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) },
    duration,
    connections,
  });
  return {
    req_per_s: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    cpu_us_per_req,
  };
}

export default async function run(options = {}) {
  const duration = Number(options.duration ?? (options.quick ? 2 : 3));
  const roundCount = Number(options.rounds ?? (options.quick ? 1 : 5));
  const connections = Number(options.connections ?? 50);

  const { started: urls, ask, stop } = await forkServeChild(SELF);
  try {
    const auth = { authorization: `Bearer ${KEY}` };
    const featureUrl = `${urls.fabra}/v1/features/userTier?entity_id=u_1`;
    const keyedUrl = `${urls.keyed}/v1/features/userTier?entity_id=u_1`;
    const bareUrl = `${urls.bare}/bare/userTier?entity_id=u_1`;
    for (const [url, headers] of [
      [featureUrl, {}],
      [keyedUrl, auth],
    ]) {
      const warm = await fetch(url, { headers }); // computed once; every measured read is a cache hit
      if (warm.status !== 200) throw new Error(`warm-up read failed: HTTP ${warm.status}`);
      const check = await (await fetch(url, { headers })).json();
      if (check.served_from !== "cache") throw new Error(`expected a cache hit, got ${check.served_from}`);
    }

    // Warm the servers' JIT before measuring.
    await load(ask, bareUrl, { duration: 1, connections });
    await load(ask, featureUrl, { duration: 1, connections });
    await load(ask, keyedUrl, { duration: 1, connections, headers: auth });

    // Each round measures the three reads back to back, in an order that rotates from round to round.
    const reads = {
      bare: [bareUrl, {}],
      feature: [featureUrl, {}],
      withKey: [keyedUrl, auth],
    };
    const names = Object.keys(reads);
    const rounds = [];
    for (let i = 0; i < roundCount; i++) {
      const r = {};
      for (let j = 0; j < names.length; j++) {
        const name = names[(i + j) % names.length];
        const [url, headers] = reads[name];
        r[name] = await load(ask, url, { duration, connections, headers });
      }
      rounds.push(r);
    }
    // Every ratio is the median of the rounds' own ratios: never two reads measured minutes apart.
    const med = (pick) => median(rounds.map(pick));
    const ratioOf = (pick) => round(med(pick));
    const featureRatio = ratioOf((r) => r.feature.req_per_s / r.bare.req_per_s);
    const keyedRatio = ratioOf((r) => r.withKey.req_per_s / r.bare.req_per_s);
    const keyedVsKeyless = ratioOf((r) => r.withKey.req_per_s / r.feature.req_per_s);
    const contextResult = await load(ask, `${urls.fabra}/v1/context/chat`, {
      duration,
      connections: Math.min(connections, 16),
      method: "POST",
      body: JSON.stringify({ userId: "u_1", query: "how do I reset my password" }),
    });
    const { records } = await ask({ type: "records" });
    const ratio = Math.min(featureRatio, keyedRatio);
    return {
      name: "serve",
      description:
        `GET /v1/features/:name (local mode: memory cache, no API keys, loopback; and with an API key) vs a bare hono route, the worse of the two: ${connections} connections, ` +
        `${roundCount} rounds of ${duration}s on loopback (the three reads back to back, order rotating), median of the rounds' ratios; ` +
        "server CPU per request beside req/s; POST /v1/context/:name writes a DuckDB record per request",
      metrics: {
        bare_req_per_s: med((r) => r.bare.req_per_s),
        bare_p99_ms: med((r) => r.bare.p99_ms),
        bare_cpu_us_per_req: med((r) => r.bare.cpu_us_per_req),
        feature_get_req_per_s: med((r) => r.feature.req_per_s),
        feature_get_p50_ms: med((r) => r.feature.p50_ms),
        feature_get_p99_ms: med((r) => r.feature.p99_ms),
        feature_get_cpu_us_per_req: med((r) => r.feature.cpu_us_per_req),
        feature_get_with_api_key_req_per_s: med((r) => r.withKey.req_per_s),
        feature_get_with_api_key_p99_ms: med((r) => r.withKey.p99_ms),
        feature_get_with_api_key_cpu_us_per_req: med((r) => r.withKey.cpu_us_per_req),
        feature_get_ratio: featureRatio,
        feature_get_with_api_key_ratio: keyedRatio,
        api_key_vs_keyless_ratio: keyedVsKeyless,
        // The same ratios from server CPU per request (bare ÷ fabra): what req/s would show on an idle machine.
        feature_get_cpu_ratio: ratioOf((r) => r.bare.cpu_us_per_req / r.feature.cpu_us_per_req),
        feature_get_with_api_key_cpu_ratio: ratioOf((r) => r.bare.cpu_us_per_req / r.withKey.cpu_us_per_req),
        api_key_vs_keyless_cpu_ratio: ratioOf((r) => r.feature.cpu_us_per_req / r.withKey.cpu_us_per_req),
        context_post_req_per_s: contextResult.req_per_s,
        context_post_p50_ms: contextResult.p50_ms,
        context_post_p99_ms: contextResult.p99_ms,
        context_post_cpu_us_per_req: contextResult.cpu_us_per_req,
        records_written: records,
        round_ratios: rounds.map((r) => round(r.feature.req_per_s / r.bare.req_per_s)),
        round_ratios_with_api_key: rounds.map((r) => round(r.withKey.req_per_s / r.bare.req_per_s)),
      },
      ratio,
      target: `>= ${TARGET} both; API key >= ${KEYED_TARGET} of keyless`,
      pass: ratio >= TARGET && keyedVsKeyless >= KEYED_TARGET,
    };
  } finally {
    await stop();
  }
}

if (process.argv.includes("--serve-child")) {
  await serveChild();
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const result = await run({ duration: arg("duration"), connections: arg("connections"), rounds: arg("rounds") });
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = result.pass ? 0 : 1;
}
