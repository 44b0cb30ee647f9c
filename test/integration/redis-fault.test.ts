// Redis going away mid-run, on a throwaway redis-server of our own: reads degrade to computing the value, fast,
// recorded as `source: "fallback"` and counted; when Redis is back, reads use it again. And an unreachable Redis
// at start-up is a clear error before any work.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/resolve.js";
import { context, entity, feature } from "../../src/index.js";
import { createFabraFromConfig, type FabraRuntime } from "../../src/engine/create.js";
import { FabraError } from "../../src/errors.js";
import { readRecordText, verifyRecord } from "../../src/record/index.js";
import { freePort, startOwnRedis, type OwnRedis } from "../helpers/services.js";
import { tempDir } from "../helpers/temp.js";

function definitions() {
  const user = entity("user");
  const tier = feature({ entity: user, ttl: "1h" }, (id: string) => `tier-of-${id}`);
  const score = feature({ entity: user }, (id: string) => id.length + 0.5);
  const extra = Object.fromEntries(
    Array.from({ length: 3 }, (_, i) => [`f${i}`, feature({ entity: user }, (id: string) => `${i}:${id}`)]),
  );
  const greet = context({ maxTokens: 100 }, async ({ userId }: { userId: string }) => [
    {
      content: `Hello ${userId}, you are ${await tier.get(userId)} (${await score.get(userId)}).`,
      priority: 0,
      required: true,
    },
  ]);
  return { user, tier, score, greet, ...extra };
}

async function openFabra(redisUrl: string, warnings: string[]): Promise<FabraRuntime> {
  const dir = tempDir("fabra-redis-fault-");
  const config = resolveConfig(
    {
      config: {
        stores: {
          offline: { type: "duckdb", path: join(dir, "fabra.duckdb") },
          online: { type: "redis", url: redisUrl, keyPrefix: "t:", timeoutMs: 300 },
        },
      },
      configPath: null,
      rootDir: dir,
    },
    {},
  );
  return createFabraFromConfig(config, { objects: [definitions()], warn: (m) => warnings.push(m) });
}

describe("Redis stopped mid-run", () => {
  let redis: OwnRedis;
  let fabra: FabraRuntime;
  const warnings: string[] = [];
  beforeAll(async () => {
    redis = await startOwnRedis();
    fabra = await openFabra(redis.url, warnings);
  });
  afterAll(async () => {
    await fabra?.close();
    await redis?.stop();
  });

  it("degrades to computing, fast, recorded as fallback and counted; recovers when Redis is back", async () => {
    expect((await fabra.getFeatureValue("tier", "u_1")).source).toBe("compute");
    expect((await fabra.getFeatureValue("tier", "u_1")).source).toBe("cache");
    const before = await fabra.runContext("greet", { userId: "u_1" });
    expect(before.record.features.find((f) => f.name === "tier")?.source).toBe("cache");

    await redis.stop();

    const started = performance.now();
    const down = await fabra.getFeatureValue("tier", "u_1");
    expect(performance.now() - started).toBeLessThan(1000);
    expect(down).toMatchObject({ value: "tier-of-u_1", source: "fallback" });

    const during = await fabra.runContext("greet", { userId: "u_1" });
    expect(during.content).toContain("tier-of-u_1");
    expect(during.record.features.map((f) => f.source)).toEqual(["fallback", "fallback"]);
    expect(verifyRecord(readRecordText(JSON.stringify(during.record))).ok).toBe(true);

    const batchStart = performance.now();
    const batch = await fabra.getFeatures(
      ["tier", "score", "f0", "f1", "f2"].map((feature) => ({ feature, entityId: "u_2" })),
    );
    expect(performance.now() - batchStart).toBeLessThan(1000);
    expect(batch.map((r) => ("source" in r ? r.source : r.error.code))).toEqual(Array(5).fill("fallback"));
    expect(batch.map((r) => ("value" in r ? r.value : null))).toEqual(["tier-of-u_2", 3.5, "0:u_2", "1:u_2", "2:u_2"]);

    expect(fabra.degraded.fallbackReads).toBeGreaterThanOrEqual(8);
    expect(fabra.degraded.onlineReadFailures).toBeGreaterThanOrEqual(4);
    expect(warnings.some((w) => w.includes("stores.online") && w.includes("redis://127.0.0.1"))).toBe(true);

    await redis.start();
    const deadline = Date.now() + 10_000;
    let source = "fallback";
    while (source === "fallback" && Date.now() < deadline) {
      source = (await fabra.getFeatureValue("tier", "u_3")).source;
      if (source === "fallback") await new Promise((r) => setTimeout(r, 100));
    }
    expect(source).toBe("compute");
    expect((await fabra.getFeatureValue("tier", "u_3")).source).toBe("cache");
  });
});

describe("Redis unreachable at start-up", () => {
  it("fails before any work with the service, the masked URL and how to fix it", async () => {
    const port = await freePort();
    const err = await openFabra(`redis://:hunter2@127.0.0.1:${port}`, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FabraError);
    const e = err as FabraError;
    expect(e.code).toBe("STORE_UNAVAILABLE");
    expect(e.message).toContain("stores.online");
    expect(e.message).toContain(`redis://:***@127.0.0.1:${port}`);
    expect(`${e.message}${e.hint}`).not.toContain("hunter2");
    expect(e.hint).toContain("FABRA_REDIS_URL");
  });
});
