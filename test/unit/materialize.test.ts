// Materialization in-process: failures per entity, entity sources, resume after a crash/abort/store fault without
// duplicates or gaps, the refresh lock, and the online cache's TTL.
import { afterEach, describe, expect, it } from "vitest";
import { createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import { planMaterialize, runFeature } from "../../src/engine/features/materialize.js";
import { refreshLockKey } from "../../src/engine/features/locks.js";
import type { DuckDBOfflineStore } from "../../src/stores/duckdb/offline.js";
import { tempFile } from "../helpers/temp.js";

const open: FabraRuntime[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

async function runtime(defs: Record<string, unknown>): Promise<FabraRuntime> {
  const path = tempFile("fabra-mat-", "fabra.duckdb");
  const fabra = await createFabra({ definitions: defs, stores: { offline: { type: "duckdb", path } }, warn: () => {} });
  open.push(fabra);
  return fabra;
}

const db = (fabra: FabraRuntime) => (fabra.stores.offline as DuckDBOfflineStore).db;

/** Every history row of a feature: (entity, run) → count, plus the runs. */
async function historyOf(fabra: FabraRuntime, feature: string) {
  const rows = await db(fabra).query<{ entity_id: string; run_id: string; n: bigint }>(
    "SELECT entity_id, run_id, count(*) AS n FROM fabra_feature_values WHERE feature = $1 GROUP BY ALL ORDER BY entity_id",
    [feature],
  );
  return {
    rows,
    runs: [...new Set(rows.map((r) => r.run_id))],
    maxPerEntityRun: Math.max(0, ...rows.map((r) => Number(r.n))),
  };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("materialize", () => {
  it("writes every entity to history and the cache; a throwing entity is reported and the rest go on", async () => {
    const user = entity("user");
    const score = feature(
      { entity: user, materialize: true, entities: [...ids(50), "u3", "u7"], ttl: "1h" },
      async (id: string) => {
        if (id === "u13") throw new Error("no row for u13");
        if (id === "u21") return new Map() as unknown as number; // not JSON: reported too
        return Number(id.slice(1)) + 0.5;
      },
    );
    const fabra = await runtime({ user, score });
    const [result] = await fabra.materialize({ concurrency: 4, batchSize: 7 });
    expect(result).toMatchObject({
      feature: "score",
      status: "partial",
      total: 52,
      written: 48,
      failed: 2,
      resumed: false,
    });
    expect(result?.errors).toEqual([
      { entityId: "u13", error: "no row for u13" },
      { entityId: "u21", error: expect.stringMatching(/Map object/) },
    ]);
    const history = await historyOf(fabra, "score");
    expect(history.runs).toEqual([result?.runId]);
    expect(history.rows.map((r) => r.entity_id).sort()).toEqual(
      ids(50)
        .filter((id) => id !== "u13" && id !== "u21")
        .sort(),
    );
    expect(history.maxPerEntityRun).toBe(1); // the duplicate ids in the list were computed once
    const cached = await fabra.stores.online.get({ feature: "score", entityId: "u7" });
    expect(cached?.valueJson).toBe("7.5");
    expect(await fabra.getFeatureValue("score", "u8")).toMatchObject({ value: 8.5, source: "cache" });
    const [run] = await fabra.stores.offline.latestRuns(["score"]);
    expect(run).toMatchObject({
      runId: result?.runId,
      status: "partial",
      entitiesWritten: 48,
      entitiesFailed: 2,
      error: "u13: no row for u13",
      trigger: "manual",
    });
  });

  it("takes entities from { sql } against the offline store, and from sync and async functions", async () => {
    const user = entity("user");
    const fromSql = feature(
      {
        entity: user,
        materialize: true,
        entities: { sql: "SELECT 'u' || i AS id FROM range(5) t(i) ORDER BY i DESC;" },
      },
      (id: string) => id.toUpperCase(),
    );
    const fromGen = feature(
      {
        entity: user,
        materialize: true,
        entities: async function* () {
          for (const id of ["a", "b", "a", "c"]) {
            await sleep(1);
            yield id;
          }
        },
      },
      (id: string) => ({ id }),
    );
    const fromFn = feature({ entity: user, materialize: true, entities: () => new Set(["x", "y"]) }, (id: string) => [
      id,
    ]);
    const fabra = await runtime({ user, fromSql, fromGen, fromFn });
    const results = await fabra.materialize();
    expect(results.map((r) => [r.feature, r.status, r.total, r.written])).toEqual([
      ["fromSql", "succeeded", 5, 5],
      ["fromGen", "succeeded", 3, 3],
      ["fromFn", "succeeded", 2, 2],
    ]);
    expect((await historyOf(fabra, "fromSql")).rows.map((r) => r.entity_id)).toEqual(["u0", "u1", "u2", "u3", "u4"]);
    expect(await fabra.stores.offline.queryEntityIds("SELECT 42 UNION ALL SELECT 7")).toEqual(["42", "7"]);
    await expect(fabra.stores.offline.queryEntityIds("SELECT NULL")).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/null id \(row 1\)/),
    });
    await expect(fabra.stores.offline.queryEntityIds("SELECT id FROM no_such_table")).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/no_such_table/),
    });
  });

  it("an entity source that fails interrupts the run with its error; the next run resumes it", async () => {
    const user = entity("user");
    let fail = true;
    const flaky = feature(
      {
        entity: user,
        materialize: true,
        entities: async function* () {
          yield "a";
          yield "b";
          if (fail) throw new Error("users table is gone");
          yield "c";
        },
      },
      (id: string) => id,
    );
    const fabra = await runtime({ user, flaky });
    const [first] = await fabra.materialize({ concurrency: 1, batchSize: 1 });
    expect(first).toMatchObject({
      status: "interrupted",
      error: expect.stringMatching(/entities function of flaky failed: users table is gone/),
    });
    fail = false;
    const [second] = await fabra.materialize({ concurrency: 1 });
    expect(second).toMatchObject({
      status: "succeeded",
      resumed: true,
      runId: first?.runId,
      alreadyWritten: first?.written,
      total: 3,
    });
    const history = await historyOf(fabra, "flaky");
    expect(history.runs).toEqual([first?.runId]);
    expect(history.rows.map((r) => r.entity_id)).toEqual(["a", "b", "c"]);
  });

  it("resumes a run a crash left unfinished: written entities are skipped, the rest written, one row each", async () => {
    const user = entity("user");
    const computed: string[] = [];
    const score = feature({ entity: user, materialize: true, entities: ids(40) }, (id: string) => {
      computed.push(id);
      return id.length;
    });
    const fabra = await runtime({ user, score });
    // What a killed process leaves behind: a begun run with some committed batches.
    const { run } = await fabra.stores.offline.beginRun("score", "schedule");
    await fabra.stores.offline.writeValues(
      ids(15).map((id) => ({
        feature: "score",
        entityId: id,
        valueJson: "0",
        computedAt: run.startedAt,
        runId: run.runId,
      })),
    );
    const [result] = await fabra.materialize({ concurrency: 3, batchSize: 4 });
    expect(result).toMatchObject({
      runId: run.runId,
      resumed: true,
      status: "succeeded",
      alreadyWritten: 15,
      written: 25,
      total: 40,
    });
    expect(computed.sort()).toEqual(ids(40).slice(15).sort());
    const history = await historyOf(fabra, "score");
    expect(history.runs).toEqual([run.runId]);
    expect(history.rows).toHaveLength(40);
    expect(history.maxPerEntityRun).toBe(1);
    expect((await fabra.stores.offline.latestRuns(["score"]))[0]).toMatchObject({
      status: "succeeded",
      entitiesWritten: 40,
      trigger: "schedule",
      startedAt: run.startedAt,
    });
    // A finished run is not resumed: the next materialization is a new run.
    const [next] = await fabra.materialize();
    expect(next).toMatchObject({ resumed: false, written: 40 });
    expect(next?.runId).not.toBe(run.runId);
  });

  it("an abort stops after the current batch (run interrupted), a store fault interrupts without writing history", async () => {
    const user = entity("user");
    const stop = new AbortController();
    let calls = 0;
    const slow = feature({ entity: user, materialize: true, entities: ids(60) }, async (id: string) => {
      if (++calls === 12) stop.abort(new Error("test stop"));
      await sleep(3);
      return id;
    });
    const fabra = await runtime({ user, slow });
    const [first] = await fabra.materialize({ concurrency: 2, batchSize: 5, signal: stop.signal });
    expect(first).toMatchObject({ status: "interrupted", error: expect.stringMatching(/test stop/) });
    expect(first?.written).toBeGreaterThan(0);
    expect(first?.written).toBeLessThan(60);
    expect(first?.written).toBe(first?.computed); // in-flight values were written, not dropped

    // The online store fails on the second batch: that batch is not in history, the run stays resumable.
    const online = fabra.stores.online;
    const realSetMany = online.setMany.bind(online);
    let setManyCalls = 0;
    online.setMany = async (entries) => {
      if (++setManyCalls === 2) throw new Error("cache connection reset");
      return realSetMany(entries);
    };
    const [second] = await fabra.materialize({ concurrency: 1, batchSize: 5 });
    online.setMany = realSetMany;
    expect(second).toMatchObject({
      status: "interrupted",
      resumed: true,
      runId: first?.runId,
      written: 5,
      error: "cache connection reset",
    });
    const [third] = await fabra.materialize({ concurrency: 4, batchSize: 5 });
    expect(third).toMatchObject({ status: "succeeded", resumed: true, runId: first?.runId });
    expect((third?.alreadyWritten ?? 0) + (third?.written ?? 0)).toBe(60);
    const history = await historyOf(fabra, "slow");
    expect(history.runs).toEqual([first?.runId]);
    expect(history.rows.map((r) => r.entity_id).sort()).toEqual(ids(60).sort());
    expect(history.maxPerEntityRun).toBe(1);
  });

  it("does not run a feature whose refresh lock is held elsewhere", async () => {
    const user = entity("user");
    const score = feature({ entity: user, materialize: true, entities: ["a"] }, () => 1);
    const fabra = await runtime({ user, score });
    const token = await fabra.stores.locks.acquire(refreshLockKey("score"), 10_000);
    expect(token).not.toBeNull();
    const [result] = await fabra.materialize();
    expect(result).toMatchObject({
      status: "locked",
      runId: null,
      written: 0,
      error: expect.stringMatching(/another process is materializing score/),
    });
    expect(await fabra.stores.offline.latestRuns(["score"])).toEqual([]);
    await fabra.stores.locks.release(refreshLockKey("score"), token as string);
    expect((await fabra.materialize())[0]?.status).toBe("succeeded");
  });

  it("caches values with the feature's ttl", async () => {
    const user = entity("user");
    const brief = feature({ entity: user, materialize: true, entities: ["a"], ttl: "60ms" }, () => "v");
    const fabra = await runtime({ user, brief });
    await fabra.materialize();
    expect(await fabra.stores.online.get({ feature: "brief", entityId: "a" })).not.toBeNull();
    await sleep(90);
    expect(await fabra.stores.online.get({ feature: "brief", entityId: "a" })).toBeNull();
    expect((await fabra.stores.offline.latest("brief", "a"))?.valueJson).toBe('"v"');
  });

  it("checks the plan before any work: unknown names, nothing to materialize, features without entities", async () => {
    const user = entity("user");
    const tier = feature({ entity: user }, () => "free");
    const fabra = await runtime({ user, tier });
    expect(() => planMaterialize(fabra)).toThrow(/No feature has materialize: true/);
    expect(() => planMaterialize(fabra, { features: ["teir"] })).toThrow(
      expect.objectContaining({ code: "FEATURE_NOT_FOUND", hint: 'Did you mean "tier"?' }),
    );
    expect(() => planMaterialize(fabra, { features: ["tier"] })).toThrow(
      expect.objectContaining({ code: "INVALID_DEFINITION", message: "Feature tier has no entities to materialize" }),
    );
    expect(planMaterialize(fabra, { features: ["tier"], entities: ["a"] })).toEqual(["tier"]);
    const [result] = await fabra.materialize({ features: ["tier"], entities: ["a", "b"] });
    expect(result).toMatchObject({ status: "succeeded", written: 2 });
  });

  it("a stale worker (paused past its lock's TTL) cannot undo the run another worker resumed and finished", async () => {
    const user = entity("user");
    let releaseStale!: () => void;
    const staleGate = new Promise<void>((r) => (releaseStale = r));
    let calls = 0;
    const score = feature({ entity: user, materialize: true, entities: ids(6) }, async (id: string) => {
      // The very first computation is the stale worker's, stuck (a GC pause, a SIGSTOP, a slow network).
      if (calls++ === 0) await staleGate;
      return id.length;
    });
    const warnings: string[] = [];
    const path = tempFile("fabra-mat-", "fabra.duckdb");
    const fabra = await createFabra({
      definitions: { user, score },
      stores: { offline: { type: "duckdb", path } },
      warn: (w) => warnings.push(w),
    });
    open.push(fabra);
    const staleSignal = new AbortController();
    const stale = runFeature(fabra, "score", { concurrency: 1, batchSize: 1 }, staleSignal.signal);
    while (calls === 0) await sleep(5);
    // Its lock expired: another worker takes the feature, resumes the run and finishes it.
    const current = await runFeature(fabra, "score", { concurrency: 2, batchSize: 2 }, new AbortController().signal);
    expect(current).toMatchObject({ resumed: true, status: "succeeded" });
    // The stale worker learns its lock is lost (its extend fails), stops, and tries to end the run as interrupted.
    staleSignal.abort(new Error("lost the lock refresh:score"));
    releaseStale();
    const staleResult = await stale;
    expect(staleResult.runId).toBe(current.runId);
    expect(staleResult.status).toBe("interrupted");
    expect(staleResult.error).toMatch(/another worker took over run .* \(attempt 2, succeeded\)/);
    expect(warnings.some((w) => w.includes("another worker took over"))).toBe(true);
    const [stored] = await fabra.stores.offline.latestRuns(["score"]);
    expect(stored).toMatchObject({ runId: current.runId, status: "succeeded", attempt: 2, error: null });
    // And the finished run is not resumed again.
    const [next] = await fabra.materialize({ features: ["score"] });
    expect(next).toMatchObject({ resumed: false, status: "succeeded" });
    expect(next?.runId).not.toBe(current.runId);
  });
});
