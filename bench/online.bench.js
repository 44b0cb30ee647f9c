// "online" (issue 5): p50/p99 of fabra's getFeatures for 5 features of one entity, all cached in Redis (one MGET
// plus decoding and provenance), against 5 raw GETs pipelined on the same ioredis client, interleaved in the same
// run. Target: p99 ratio <= 1.3 (Redis-only caching adds little over the round trip itself).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../dist/config/resolve.js";
import { createFabraFromConfig } from "../dist/engine/create.js";
import { entity, feature } from "../dist/index.js";
import { benchOptions, percentile, round, runIfMain } from "./lib.js";
import { REDIS_URL, uniqueName } from "./prod-services.js";

const TARGET = 1.3;

export default async function run(options = benchOptions()) {
  const { quick, log } = options;
  const iterations = quick ? 2000 : 20000;
  const dir = mkdtempSync(join(tmpdir(), "fabra-bench-online-"));
  const prefix = `${uniqueName()}:`;
  const user = entity("user");
  const defs = { user };
  const names = ["tier", "plan", "score", "tickets", "region"];
  names.forEach((n, i) => {
    defs[n] = feature({ entity: user, ttl: "1h" }, (id) => (i % 2 ? `${n}-${id}` : i + 0.5));
  });
  const config = resolveConfig(
    {
      config: {
        stores: {
          offline: { type: "duckdb", path: join(dir, "fabra.duckdb") },
          online: { type: "redis", url: REDIS_URL, keyPrefix: prefix },
        },
      },
      configPath: null,
      rootDir: dir,
    },
    {},
  );
  const fabra = await createFabraFromConfig(config, { objects: [defs], warn: (m) => log(`warning: ${m}`) });
  const online = fabra.stores.online;
  const client = online.conn.client;
  try {
    const entities = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    for (const e of entities) await fabra.getFeatures(names.map((feature) => ({ feature, entityId: e })));
    const check = await fabra.getFeatures(names.map((feature) => ({ feature, entityId: "user-1" })));
    if (!check.every((r) => r.source === "cache")) throw new Error("the warm-up did not leave every value in Redis");

    const fabraMs = [];
    const rawMs = [];
    const warmup = Math.floor(iterations / 10);
    log(`online: ${iterations} iterations each (after ${warmup} warm-up), Redis ${REDIS_URL}`);
    for (let i = 0; i < iterations + warmup; i++) {
      const e = entities[i % entities.length];
      const requests = names.map((feature) => ({ feature, entityId: e }));
      const keys = requests.map((k) => online.key(k));
      // Alternate which goes first so neither always runs on a warmer connection.
      const order = i % 2 ? ["fabra", "raw"] : ["raw", "fabra"];
      for (const which of order) {
        const t = performance.now();
        if (which === "fabra") {
          const out = await fabra.getFeatures(requests);
          if (out[0].source !== "cache") throw new Error("a read missed the cache");
        } else {
          const p = client.pipeline();
          for (const k of keys) p.get(k);
          const out = await p.exec();
          if (out[0][1] === null) throw new Error("a raw GET missed");
        }
        if (i >= warmup) (which === "fabra" ? fabraMs : rawMs).push(performance.now() - t);
      }
    }
    const m = (xs, p) => round(percentile(xs, p), 4);
    const ratio = round(percentile(fabraMs, 99) / percentile(rawMs, 99), 3);
    return {
      name: "online",
      description:
        "getFeatures (5 features, Redis cache) vs 5 raw GETs pipelined on the same ioredis client; p99 ratio",
      metrics: {
        iterations,
        fabraP50Ms: m(fabraMs, 50),
        fabraP99Ms: m(fabraMs, 99),
        rawPipelineP50Ms: m(rawMs, 50),
        rawPipelineP99Ms: m(rawMs, 99),
        p50Ratio: round(percentile(fabraMs, 50) / percentile(rawMs, 50), 3),
      },
      ratio,
      target: `<= ${TARGET}`,
      pass: ratio <= TARGET,
    };
  } finally {
    const keys = [];
    let cursor = "0";
    do {
      const [next, found] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== "0");
    if (keys.length > 0) await client.del(...keys);
    await fabra.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
