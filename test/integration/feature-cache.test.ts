// A cached value that does not decode is a miss: the value is computed (not a fallback) and the entry replaced,
// on the in-process cache and on the real Redis (a private key prefix), one by one and in batches.
import { afterAll, describe, expect, it } from "vitest";
import { createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import { nowDatetime } from "../../src/record/datetime.js";
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
      expect(fabra.degraded).toEqual({ onlineReadFailures: 2, fallbackReads: 0 });
    });
  });
}
