// A cached value that does not decode is a miss: the value is computed (not a fallback) and the entry replaced,
// on the in-process cache and on the real Redis (a private key prefix), one by one and in batches.
import { afterAll, describe, expect, it } from "vitest";
import { createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import { nowDatetime, toDatetime } from "../../src/record/datetime.js";
import { deleteKeys, REDIS_URL, redisUp, uniqueName } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

const open: FabraRuntime[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  while (open.length > 0) await open.pop()?.close();
  for (const p of prefixes) await deleteKeys(REDIS_URL, p);
});

const redis = await redisUp();

for (const backend of ["memory", ...(redis ? ["redis"] : [])] as const) {
  describe(`a corrupt cached value (${backend})`, () => {
    it("is recomputed and overwritten, one by one and in a batch", async () => {
      const prefix = `${uniqueName()}:`;
      prefixes.push(prefix);
      const warnings: string[] = [];
      let computed = 0;
      const user = entity("user");
      const tier = feature({ entity: user }, (id: string) => {
        computed++;
        return `gold-${id}`;
      });
      const fabra = await createFabra({
        stores: {
          offline: { type: "duckdb", path: tempFile("fabra-cache-", "f.duckdb") },
          online: backend === "redis" ? { type: "redis", url: REDIS_URL, keyPrefix: prefix } : { type: "memory" },
        },
        definitions: { user, tier },
        warn: (w) => warnings.push(w),
      });
      open.push(fabra);
      const corrupt = (entityId: string) =>
        fabra.stores.online.set({ feature: "tier", entityId }, { valueJson: "{not json", asOf: nowDatetime() });

      await corrupt("u1");
      const first = await fabra.getFeatureValue("tier", "u1");
      expect(first).toMatchObject({ value: "gold-u1", source: "compute" });
      expect(warnings).toEqual(["the cached value of tier(u1) is unreadable; computing it again to replace it"]);
      expect((await fabra.stores.online.get({ feature: "tier", entityId: "u1" }))?.valueJson).toBe('"gold-u1"');
      expect(await fabra.getFeatureValue("tier", "u1")).toMatchObject({ value: "gold-u1", source: "cache" });

      await corrupt("u2");
      const batch = await fabra.getFeatures([
        { feature: "tier", entityId: "u1" },
        { feature: "tier", entityId: "u2" },
      ]);
      expect(batch).toEqual([
        expect.objectContaining({ value: "gold-u1", source: "cache" }),
        expect.objectContaining({ value: "gold-u2", source: "compute" }),
      ]);
      expect((await fabra.stores.online.get({ feature: "tier", entityId: "u2" }))?.valueJson).toBe('"gold-u2"');
      expect(computed).toBe(2);
      expect(fabra.degraded).toEqual({ onlineReadFailures: 2, fallbackReads: 0, rejectedCacheEntries: 0 });
    });
  });

  describe(`an untrustworthy cached value (${backend})`, () => {
    it("is a miss when its as_of is in the future or its kind is not the default's, and is counted", async () => {
      const prefix = `${uniqueName()}:`;
      prefixes.push(prefix);
      const warnings: string[] = [];
      const user = entity("user");
      const score = feature({ entity: user, default: 0 }, (id: string) => id.length);
      const fabra = await createFabra({
        stores: {
          offline: { type: "duckdb", path: tempFile("fabra-cache-", "f.duckdb") },
          online: backend === "redis" ? { type: "redis", url: REDIS_URL, keyPrefix: prefix } : { type: "memory" },
        },
        definitions: { user, score },
        warn: (w) => warnings.push(w),
      });
      open.push(fabra);
      const plant = (entityId: string, valueJson: string, asOf: string) =>
        fabra.stores.online.set({ feature: "score", entityId }, { valueJson, asOf });
      const future = toDatetime(Date.now() + 3_600_000);

      await plant("u1", "999", future);
      expect(await fabra.getFeatureValue("score", "u1")).toMatchObject({ value: 2, source: "compute" });
      await plant("u22", '"lots"', nowDatetime());
      expect(await fabra.getFeatureValue("score", "u22")).toMatchObject({ value: 3, source: "compute" });
      expect(warnings).toEqual([
        `the cached value of score(u1) has an as_of in the future (${future}); computing it again to replace it`,
        "the cached value of score(u22) is a string, but the feature's default is a number; computing it again to replace it",
      ]);
      // The recomputed values replaced the planted ones.
      expect(await fabra.getFeatureValue("score", "u1")).toMatchObject({ value: 2, source: "cache" });

      // The batch path refuses them too.
      await plant("u333", "999", future);
      await plant("u4444", "[1]", nowDatetime());
      const batch = await fabra.getFeatures([
        { feature: "score", entityId: "u333" },
        { feature: "score", entityId: "u4444" },
      ]);
      expect(batch).toEqual([
        expect.objectContaining({ value: 4, source: "compute" }),
        expect.objectContaining({ value: 5, source: "compute" }),
      ]);
      expect(fabra.degraded).toEqual({ onlineReadFailures: 0, fallbackReads: 0, rejectedCacheEntries: 4 });
    });
  });
}
