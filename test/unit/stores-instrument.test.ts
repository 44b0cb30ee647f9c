// The one wrapper over every store: calls timed and reported, raw errors mapped to FabraErrors naming the store (hint),
// properties and optional methods as they are, iterables passed through, close() once; createStores' observe().
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FabraError } from "../../src/errors.js";
import { createStores } from "../../src/stores/index.js";
import { instrument } from "../../src/stores/instrument.js";
import type { StoreOperation } from "../../src/stores/types.js";

const dir = mkdtempSync(join(tmpdir(), "fabra-instrument-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class FakeStore {
  readonly capabilities = { concurrentWriters: false, persistent: true };
  closes = 0;
  async get(id: string): Promise<string> {
    return `row ${id}`;
  }
  async broken(): Promise<never> {
    throw new Error("socket hang up");
  }
  async conflict(): Promise<never> {
    throw new FabraError("RECORD_CONFLICT", "different hash");
  }
  async *scan(): AsyncIterable<number[]> {
    yield [1, 2];
  }
  async close(): Promise<void> {
    this.closes++;
  }
}

describe("instrument", () => {
  it("times each call and reports its result, keeps properties and leaves optional methods absent", async () => {
    const seen: StoreOperation[] = [];
    const raw = new FakeStore();
    const store = instrument(raw, "records", new Set([(op: StoreOperation) => seen.push(op)]));
    expect(await store.get("a")).toBe("row a");
    expect(store.capabilities).toBe(raw.capabilities);
    expect((store as FakeStore & { scanRaw?: unknown }).scanRaw).toBeUndefined();
    expect(seen).toEqual([{ store: "records", operation: "get", seconds: expect.any(Number), result: "row a" }]);
    expect(seen[0]?.seconds).toBeGreaterThanOrEqual(0);
    const batches: number[][] = [];
    for await (const batch of store.scan()) batches.push(batch);
    expect(batches).toEqual([[1, 2]]);
  });

  it("maps a raw error to STORE_UNAVAILABLE naming the store and the call; FabraErrors pass through", async () => {
    const seen: StoreOperation[] = [];
    const store = instrument(new FakeStore(), "online", new Set([(op: StoreOperation) => seen.push(op)]));
    const err = await store.broken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FabraError);
    expect(err).toMatchObject({
      code: "STORE_UNAVAILABLE",
      message: "socket hang up",
      hint: expect.stringContaining("stores.online failed in online.broken"),
      details: { store: "online", operation: "broken" },
      cause: expect.any(Error),
    });
    await expect(store.conflict()).rejects.toMatchObject({ code: "RECORD_CONFLICT", message: "different hash" });
    expect(seen.map((s) => [s.operation, s.error?.code])).toEqual([
      ["broken", "STORE_UNAVAILABLE"],
      ["conflict", "RECORD_CONFLICT"],
    ]);
  });

  it("closes once however often close() is called, and an observer that throws breaks nothing", async () => {
    const raw = new FakeStore();
    const store = instrument(
      raw,
      "vector",
      new Set([
        () => {
          throw new Error("observer bug");
        },
      ]),
    );
    await Promise.all([store.close(), store.close()]);
    await store.close();
    expect(raw.closes).toBe(1);
  });

  it("createStores reports every store's calls to its observers until they stop observing", async () => {
    const stores = await createStores(
      {
        stores: {
          offline: { type: "duckdb", path: join(dir, "a.duckdb") },
          online: { type: "memory" },
          vector: { type: "memory" },
        },
      },
      { dimensions: 3 },
    );
    try {
      const seen: string[] = [];
      const stop = stores.observe((op) =>
        seen.push(`${op.store}.${op.operation}${op.error ? ` ${op.error.code}` : ""}`),
      );
      await stores.records.count();
      await stores.online.get({ feature: "f", entityId: "e" });
      await stores.vector.listIndexes();
      await stores.locks.acquire("k", 1000);
      await stores.offline.latestRuns();
      stop();
      await stores.records.count();
      expect(seen).toEqual([
        "records.count",
        "online.get",
        "vector.listIndexes",
        "locks.acquire",
        "offline.latestRuns",
      ]);
    } finally {
      await stores.close();
    }
  });
});
