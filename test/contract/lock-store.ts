// The LockStore contract: one owner at a time, release and extend only by the owner, expiry frees the lock.
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LockStore } from "../../src/stores/types.js";

export interface LockStoreHarness {
  /** Two handles on the same lock space (two workers); for an in-process backend they may be the same object. */
  open(): Promise<[LockStore, LockStore]>;
  cleanup?(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function lockStoreContract(name: string, harness: LockStoreHarness): void {
  describe(`LockStore contract: ${name}`, () => {
    let a: LockStore;
    let b: LockStore;
    beforeAll(async () => {
      [a, b] = await harness.open();
    });
    afterAll(async () => {
      await a?.close();
      if (b !== a) await b?.close();
      await harness.cleanup?.();
    });

    it("says who holds a lock (pid, host, since, until), and nobody for a free one", async () => {
      expect(await b.holder("job:who")).toBeNull();
      const before = Date.now();
      const token = (await a.acquire("job:who", 5000)) as string;
      const holder = await b.holder("job:who");
      expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
      const until = Date.parse(holder?.expiresAt ?? "");
      expect(until).toBeGreaterThan(before + 3000);
      expect(until).toBeLessThanOrEqual(Date.now() + 5000);
      expect(Date.parse(holder?.acquiredAt ?? "")).toBeGreaterThanOrEqual(before - 1000);
      await a.release("job:who", token);
      expect(await b.holder("job:who")).toBeNull();
    });

    it("gives a free lock to one taker at a time", async () => {
      const token = await a.acquire("job:1", 5000);
      expect(token).toEqual(expect.any(String));
      expect(await b.acquire("job:1", 5000)).toBeNull();
      expect(await a.acquire("job:1", 5000)).toBeNull();
      expect(await b.acquire("job:2", 5000)).toEqual(expect.any(String));
    });

    it("releases only for the owner's token", async () => {
      const token = (await a.acquire("job:3", 5000)) as string;
      expect(await b.release("job:3", "not-the-token")).toBe(false);
      expect(await b.acquire("job:3", 5000)).toBeNull();
      expect(await a.release("job:3", token)).toBe(true);
      expect(await a.release("job:3", token)).toBe(false);
      const next = await b.acquire("job:3", 5000);
      expect(next).toEqual(expect.any(String));
      expect(next).not.toBe(token);
    });

    it("expires: after its TTL another worker takes it, and the old owner can neither release nor extend it", async () => {
      const old = (await a.acquire("job:4", 100)) as string;
      await sleep(250);
      const fresh = await b.acquire("job:4", 5000);
      expect(fresh).toEqual(expect.any(String));
      expect(await a.release("job:4", old)).toBe(false);
      expect(await a.extend("job:4", old, 5000)).toBe(false);
      expect(await b.acquire("job:4", 5000)).toBeNull();
    });

    it("extends only for the owner, keeping a long job's lock past its first TTL", async () => {
      const token = (await a.acquire("job:5", 200)) as string;
      expect(await b.extend("job:5", "someone-else", 5000)).toBe(false);
      await sleep(100);
      expect(await a.extend("job:5", token, 1000)).toBe(true);
      await sleep(250);
      expect(await b.acquire("job:5", 5000)).toBeNull();
      expect(await a.release("job:5", token)).toBe(true);
    });

    it("under a race of many takers, exactly one wins", async () => {
      const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquire("job:race", 5000)));
      expect(tokens.filter((t) => t !== null)).toHaveLength(1);
    });
  });
}
