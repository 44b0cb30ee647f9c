// The OnlineStore contract: every cache backend keeps values kind-preserving and exact, honours per-key TTLs,
// reads many keys in order, and keeps keys that look alike apart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeDatetime } from "../../src/record/datetime.js";
import type { OnlineStore } from "../../src/stores/types.js";

export interface OnlineStoreHarness {
  open(): Promise<OnlineStore>;
  cleanup?(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function onlineStoreContract(name: string, harness: OnlineStoreHarness): void {
  describe(`OnlineStore contract: ${name}`, () => {
    let store: OnlineStore;
    beforeAll(async () => {
      store = await harness.open();
    });
    afterAll(async () => {
      await store?.close();
      await harness.cleanup?.();
    });

    it("declares its capabilities, and its probe passes with named checks, leaving nothing behind", async () => {
      for (const flag of ["concurrentWriters", "persistent", "sharedAcrossProcesses"] as const)
        expect(typeof store.capabilities[flag], flag).toBe("boolean");
      const before = await store.get({ feature: "__probe__", entityId: "x" });
      const checks = await store.probe();
      expect(checks.length).toBeGreaterThan(0);
      for (const check of checks) {
        expect(check.name).toMatch(/\S/);
        expect(check.detail).toMatch(/\S/);
        expect(check.state, `${check.name}: ${check.detail}`).not.toBe("fail");
      }
      expect(await store.get({ feature: "__probe__", entityId: "x" })).toEqual(before);
    });

    it("misses return null", async () => {
      expect(await store.get({ feature: "nothing", entityId: "u_0" })).toBeNull();
    });

    it("round-trips values as exact kind-preserving JSON text with their as_of", async () => {
      const values = [
        "12.0",
        "12",
        "123456789012345678901234567890",
        "-0.0",
        '"caf\\u00e9 | pipe"',
        "null",
        "true",
        '{"a":[1,2.5,{"b":null}]}',
        '""',
      ];
      for (const [i, valueJson] of values.entries()) {
        const asOf = normalizeDatetime(`2025-01-02T03:04:05.${String(i + 1).padStart(6, "0")}Z`);
        await store.set({ feature: "kinds", entityId: `e${i}` }, { valueJson, asOf });
      }
      for (const [i, valueJson] of values.entries()) {
        const got = await store.get({ feature: "kinds", entityId: `e${i}` });
        expect(got?.valueJson).toBe(valueJson);
        expect(got?.asOf).toBe(normalizeDatetime(`2025-01-02T03:04:05.${String(i + 1).padStart(6, "0")}Z`));
      }
    });

    it("reads many keys in the order asked, with nulls for misses", async () => {
      await store.setMany([
        { key: { feature: "tier", entityId: "u_1" }, value: { valueJson: '"gold"', asOf: "2025-01-01T00:00:00Z" } },
        { key: { feature: "tier", entityId: "u_2" }, value: { valueJson: '"silver"', asOf: "2025-01-01T00:00:01Z" } },
        { key: { feature: "score", entityId: "u_1" }, value: { valueJson: "0.5", asOf: "2025-01-01T00:00:02Z" } },
      ]);
      const got = await store.getMany([
        { feature: "score", entityId: "u_1" },
        { feature: "tier", entityId: "u_9" },
        { feature: "tier", entityId: "u_2" },
        { feature: "tier", entityId: "u_1" },
      ]);
      expect(got.map((v) => v?.valueJson ?? null)).toEqual(["0.5", null, '"silver"', '"gold"']);
      expect(got[2]?.asOf).toBe("2025-01-01T00:00:01Z");
      expect(await store.getMany([])).toEqual([]);
    });

    it("keeps features and entities with separators apart", async () => {
      await store.set({ feature: "a:b", entityId: "c" }, { valueJson: "1", asOf: "2025-01-01T00:00:00Z" });
      await store.set({ feature: "a", entityId: "b:c" }, { valueJson: "2", asOf: "2025-01-01T00:00:00Z" });
      await store.set({ feature: "a|b", entityId: "c d/é" }, { valueJson: "3", asOf: "2025-01-01T00:00:00Z" });
      const got = await store.getMany([
        { feature: "a:b", entityId: "c" },
        { feature: "a", entityId: "b:c" },
        { feature: "a|b", entityId: "c d/é" },
      ]);
      expect(got.map((v) => v?.valueJson)).toEqual(["1", "2", "3"]);
    });

    it("expires a value after its TTL; no TTL keeps it; a later set replaces value and TTL", async () => {
      const asOf = "2025-01-01T00:00:00Z";
      await store.set({ feature: "ttl", entityId: "short" }, { valueJson: "1", asOf }, 150);
      await store.set({ feature: "ttl", entityId: "none" }, { valueJson: "2", asOf });
      await store.set({ feature: "ttl", entityId: "replaced" }, { valueJson: "3", asOf }, 150);
      await store.set({ feature: "ttl", entityId: "replaced" }, { valueJson: "4", asOf });
      await store.setMany([
        { key: { feature: "ttl", entityId: "batch" }, value: { valueJson: "5", asOf }, ttlMs: 150 },
      ]);
      expect((await store.get({ feature: "ttl", entityId: "short" }))?.valueJson).toBe("1");
      expect((await store.get({ feature: "ttl", entityId: "batch" }))?.valueJson).toBe("5");
      await sleep(400);
      expect(await store.get({ feature: "ttl", entityId: "short" })).toBeNull();
      expect(await store.get({ feature: "ttl", entityId: "batch" })).toBeNull();
      expect((await store.get({ feature: "ttl", entityId: "none" }))?.valueJson).toBe("2");
      expect((await store.get({ feature: "ttl", entityId: "replaced" }))?.valueJson).toBe("4");
    });

    it("declares its capabilities", () => {
      expect(typeof store.capabilities.concurrentWriters).toBe("boolean");
      expect(typeof store.capabilities.persistent).toBe("boolean");
    });
  });
}
