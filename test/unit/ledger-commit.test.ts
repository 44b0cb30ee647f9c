// The group commit queue (src/stores/ledger-commit.ts) over a writer that records what it was asked to write: appends
// in flight share one commit, a lone append is written at once, batches are bounded and in log order, twins and
// refused rows fail only their callers, a failed commit fails all of its callers with one clear error.
import { describe, expect, it } from "vitest";
import { FabraError } from "../../src/errors.js";
import { type BatchWriter, LedgerCommitQueue, type RowResult } from "../../src/stores/ledger-commit.js";
import type { LedgerRow } from "../../src/stores/types.js";
import { assemblyBegun, clientConnected } from "../../src/util/company.js";

const row = (i: number, createdAt = `2026-01-01T00:00:00.${String(i).padStart(6, "0")}Z`, hash = "a"): LedgerRow => ({
  contextId: `ctx_0190a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, "0")}`,
  createdAt,
  contextFunction: "chat",
  environment: "development",
  tokenCount: i,
  recordHash: `sha256:${hash.repeat(64)}`,
  previousContextId: null,
  canonicalText: `{"n":${i}}`,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A writer that stores rows in a map (the "database") after `delayMs`, and remembers every batch. */
function fakeWriter(
  opts: { delayMs?: number; refuse?: (r: LedgerRow) => boolean; fail?: () => Error | undefined } = {},
) {
  const stored = new Map<string, LedgerRow>();
  const batches: string[][] = [];
  const write: BatchWriter = async (rows) => {
    batches.push(rows.map((r) => r.contextId));
    await sleep(opts.delayMs ?? 2);
    const failure = opts.fail?.();
    if (failure) throw failure;
    if (rows.some((r) => opts.refuse?.(r)))
      throw new FabraError("STORE_UNAVAILABLE", "invalid input syntax for type timestamp", {
        details: { code: "22007" },
      });
    return rows.map((r): RowResult => {
      const had = stored.get(r.contextId);
      if (!had) {
        stored.set(r.contextId, r);
        return "inserted";
      }
      return had.recordHash === r.recordHash
        ? "exists"
        : new FabraError("RECORD_CONFLICT", "conflict", { details: { storedHash: had.recordHash } });
    });
  };
  return { stored, batches, write };
}

const isRowError = (err: unknown) => err instanceof FabraError && err.details?.code === "22007";

describe("LedgerCommitQueue", () => {
  it("appends in flight share one commit; a lone append is written at once, alone", async () => {
    const w = fakeWriter();
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger" });
    expect(await q.append(row(1))).toBe("inserted");
    expect(w.batches).toEqual([[row(1).contextId]]);
    const rows = Array.from({ length: 50 }, (_, i) => row(10 + i));
    expect(await Promise.all(rows.map((r) => q.append(r)))).toEqual(rows.map(() => "inserted"));
    expect(w.batches).toHaveLength(2);
    expect(q.stats).toEqual({ commits: 2, rows: 51, largestBatch: 50 });
  });

  it("while commits have company, appends made in separate callbacks of one event-loop turn share a commit", async () => {
    // As a server's requests are: each one's assembly runs from its socket's callback to its append without
    // yielding, so the next one's append comes in a later callback of the same turn (here: queued immediates).
    const w = fakeWriter();
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger" });
    const inTurns = (ids: number[]) =>
      Promise.all(ids.map((i) => new Promise((resolve) => setImmediate(() => resolve(q.append(row(i)))))));
    // A lone caller (a fresh queue): its append is committed at once, not after the turn.
    expect(await inTurns([1, 2, 3])).toEqual(["inserted", "inserted", "inserted"]);
    expect(w.batches.map((b) => b.length)).toEqual([1, 2]);
    // The last commit had company: the next one waits for the turn and takes all three.
    expect(await inTurns([4, 5, 6])).toEqual(["inserted", "inserted", "inserted"]);
    expect(w.batches.map((b) => b.length)).toEqual([1, 2, 3]);
    // A lone append after that commit (it had company) still waits one turn; then the queue is lone again.
    await q.append(row(7));
    await inTurns([8, 9]);
    expect(w.batches.map((b) => b.length)).toEqual([1, 2, 3, 1, 1, 1]);
  });

  it("with other callers about to append (clients connected, assemblies in flight), even the first commit waits for the turn", async () => {
    const w = fakeWriter();
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger" });
    const inTurns = (ids: number[]) =>
      Promise.all(ids.map((i) => new Promise((resolve) => setImmediate(() => resolve(q.append(row(i)))))));
    const clients = [clientConnected(), clientConnected()];
    try {
      expect(await inTurns([1, 2, 3])).toEqual(["inserted", "inserted", "inserted"]);
      expect(w.batches.map((b) => b.length)).toEqual([3]); // a fresh queue, yet one commit
    } finally {
      for (const done of clients) done();
    }
    const assemblies = [assemblyBegun(), assemblyBegun(), assemblyBegun()];
    try {
      await q.append(row(4)); // the last commit had company: one turn; its own is the only one to take
      expect(await inTurns([5, 6])).toEqual(["inserted", "inserted"]);
      expect(w.batches.map((b) => b.length)).toEqual([3, 1, 2]);
    } finally {
      for (const done of assemblies) done();
    }
  });

  it("appends arriving during a commit wait for it and all go in the next one", async () => {
    const w = fakeWriter({ delayMs: 20 });
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger" });
    const first = q.append(row(1));
    await sleep(5); // the first commit is running
    const later = Array.from({ length: 10 }, (_, i) => q.append(row(2 + i)));
    await Promise.all([first, ...later]);
    expect(w.batches.map((b) => b.length)).toEqual([1, 10]);
    expect(w.stored.size).toBe(11);
  });

  it("a commit takes at most maxRows rows and maxChars characters; a larger row goes alone", async () => {
    const w = fakeWriter();
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger", maxRows: 4, maxChars: 40 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => q.append(row(i))));
    expect(w.batches.map((b) => b.length)).toEqual([4, 4, 2]);
    const big = { ...row(99), canonicalText: "x".repeat(100) };
    const small = Array.from({ length: 5 }, (_, i) => row(20 + i)); // 9 characters each: four fit in 40
    await Promise.all([q.append(big), ...small.map((r) => q.append(r))]);
    expect(w.batches.slice(3).map((b) => b.length)).toEqual([1, 4, 1]);
  });

  it("writes each batch in (created_at, context_id) order, the sequencer's, whatever the arrival order", async () => {
    const w = fakeWriter();
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger" });
    const t = "2026-01-01T00:00:01.000001Z";
    const rows = [row(5), row(3, t), row(1), row(2, t), row(4)];
    await Promise.all(rows.map((r) => q.append(r)));
    expect(w.batches[0]).toEqual([row(1), row(4), row(5), row(2, t), row(3, t)].map((r) => r.contextId));
  });

  it("twins in one batch: the same record again is 'exists', another record under the id is RECORD_CONFLICT", async () => {
    const w = fakeWriter();
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger" });
    const a = row(1);
    const other = row(1, a.createdAt, "b");
    const results = await Promise.allSettled([q.append(a), q.append(a), q.append(other), q.append(row(2))]);
    expect(results.slice(0, 2)).toEqual([
      { status: "fulfilled", value: "inserted" },
      { status: "fulfilled", value: "exists" },
    ]);
    const conflict = (results[2] as PromiseRejectedResult).reason as FabraError;
    expect(conflict.code).toBe("RECORD_CONFLICT");
    expect(conflict.message).toContain(a.recordHash);
    expect(conflict.message).toContain(other.recordHash);
    expect(results[3]).toEqual({ status: "fulfilled", value: "inserted" });
    expect(w.batches).toEqual([[a.contextId, row(2).contextId]]); // the twins never reached the writer
  });

  it("twins of a record that conflicts with the stored one are compared with the stored hash", async () => {
    const w = fakeWriter();
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger" });
    const stored = row(1);
    await q.append(stored);
    const other = row(1, stored.createdAt, "b");
    const results = await Promise.allSettled([q.append(other), q.append(stored), q.append(other)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "rejected"]);
    expect((results[1] as PromiseFulfilledResult<string>).value).toBe("exists");
    expect(((results[2] as PromiseRejectedResult).reason as FabraError).code).toBe("RECORD_CONFLICT");
  });

  it("a row the database refuses fails only its caller: the batch is split and the other rows are committed", async () => {
    const bad = row(7);
    const w = fakeWriter({ refuse: (r) => r.contextId === bad.contextId });
    const q = new LedgerCommitQueue({ write: w.write, where: "test ledger", isRowError });
    const rows = Array.from({ length: 12 }, (_, i) => row(1 + i));
    const results = await Promise.allSettled(rows.map((r) => q.append(r)));
    results.forEach((r, i) => {
      if (rows[i]?.contextId === bad.contextId) {
        expect(r.status).toBe("rejected");
        expect(((r as PromiseRejectedResult).reason as FabraError).details?.code).toBe("22007");
      } else expect(r).toEqual({ status: "fulfilled", value: "inserted" });
    });
    expect([...w.stored.keys()].sort()).toEqual(
      rows.filter((r) => r.contextId !== bad.contextId).map((r) => r.contextId),
    );
  });

  it("a failed commit fails every caller of the batch with one clear error, and the next batch goes on", async () => {
    let failNext = true;
    const w = fakeWriter({
      fail: () => {
        if (!failNext) return undefined;
        failNext = false;
        return new FabraError("STORE_UNAVAILABLE", "DuckDB (x): IO Error: No space left on device", {
          hint: "Free some space.",
        });
      },
    });
    const q = new LedgerCommitQueue({ write: w.write, where: "DuckDB ledger x", isRowError });
    const rows = Array.from({ length: 5 }, (_, i) => row(i));
    const results = await Promise.allSettled(rows.map((r) => q.append(r)));
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason as FabraError);
    expect(new Set(reasons).size).toBe(1);
    const err = reasons[0] as FabraError;
    expect(err).toBeInstanceOf(FabraError);
    expect(err.code).toBe("STORE_UNAVAILABLE");
    expect(err.message).toMatch(
      /DuckDB ledger x: the commit of 5 records appended together failed, and none of them was written: .*No space left/,
    );
    expect(err.hint).toMatch(/Free some space\. Appending the same records again is safe/);
    expect(w.stored.size).toBe(0);
    expect(await q.append(row(1))).toBe("inserted");

    // A lone append's failure is the writer's error itself.
    failNext = true;
    const lone = await q.append(row(50)).catch((e: unknown) => e);
    expect((lone as FabraError).message).toBe("DuckDB (x): IO Error: No space left on device");
  });

  it("tells onCommitted the ids each commit inserted before their callers resume; idle() waits for the queue", async () => {
    const w = fakeWriter();
    const heard: string[][] = [];
    const q = new LedgerCommitQueue({
      write: w.write,
      where: "test ledger",
      onCommitted: (ids) => heard.push([...ids]),
    });
    await q.append(row(1));
    const p = Promise.all([q.append(row(1)), q.append(row(2)), q.append(row(3))]).then(() => heard.length);
    expect(await p).toBe(2);
    expect(heard).toEqual([[row(1).contextId], [row(2).contextId, row(3).contextId]]);
    void q.append(row(4));
    await q.idle();
    expect(w.stored.has(row(4).contextId)).toBe(true);
  });
});
