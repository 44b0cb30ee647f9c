// The OfflineStore contract on every history backend: a DuckDB file, the real Postgres, PGlite over the wire
// protocol; plus a property: on random histories and events, Postgres gives exactly DuckDB's point-in-time answers.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromEpochMicros, normalizeDatetime, toEpochMicros } from "../../src/record/datetime.js";
import { open as openDuck } from "../../src/stores/duckdb/offline.js";
import { open as openPg, type PostgresOfflineStore } from "../../src/stores/postgres/offline.js";
import { joinStatement } from "../../src/stores/postgres/offline-pit.js";
import type { FeatureValueRow, OfflineStore, PitFeature } from "../../src/stores/types.js";
import { offlineStoreContract } from "../contract/offline-store.js";
import { describeOnPglite, migratedSchema, onMigratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp, proxiedPostgres } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

const duckFile = () => tempFile("fabra-offline-", "fabra.duckdb");

offlineStoreContract("duckdb", { open: () => openDuck(duckFile()) });

const pgUp = await postgresUp();
describe.skipIf(!pgUp)("real Postgres", () => {
  offlineStoreContract(
    "postgres",
    onMigratedSchema(
      () => POSTGRES_URL,
      (target) => openPg(target),
    ),
  );

  describe("Postgres specifics", () => {
    let s: TestSchema;
    let store: PostgresOfflineStore;
    beforeAll(async () => {
      s = await migratedSchema(POSTGRES_URL);
      store = await openPg(s.target, { entityQueryTimeoutMs: 300 });
    });
    afterAll(async () => {
      await store?.close();
      await s?.drop();
    });

    it("runs the entities query read-only, one statement, under a statement timeout", async () => {
      await expect(store.queryEntityIds("SELECT pg_sleep(2)::text")).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message: expect.stringMatching(/longer than 300 ms/),
      });
      await expect(store.queryEntityIds("SELECT nextval('fabra_nope_seq')")).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
      });
      await expect(
        store.queryEntityIds("SELECT 1) AS q(x); DROP TABLE fabra_feature_values; SELECT (1"),
      ).rejects.toMatchObject({ code: "INVALID_DEFINITION" });
      await store.db.query(`CREATE SEQUENCE ${store.db.ident("fabra_seq")}`);
      await expect(store.queryEntityIds("SELECT nextval('fabra_seq')")).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message: expect.stringMatching(/read-only/),
      });
      expect(await store.db.query(`SELECT to_regclass($1) AS t`, [store.db.ident("fabra_feature_values")])).toEqual([
        { t: expect.any(String) },
      ]);
      // The session is left as it was: no read-only transaction, the pool's own statement timeout (not the query's).
      expect(await store.queryEntityIds("SELECT 'ok'")).toEqual(["ok"]);
      expect(await store.db.query("SELECT current_setting('statement_timeout') AS t")).toEqual([{ t: "10s" }]);
    });

    it("processes beginning a run of one feature at the same moment share one run (one unfinished run per feature)", async () => {
      const others = await Promise.all(Array.from({ length: 4 }, () => openPg({ ...s.target, poolSize: 2 })));
      try {
        const begun = await Promise.all(
          [store, ...others].flatMap((st) => [st.beginRun("race", "schedule"), st.beginRun("race", "manual")]),
        );
        expect(new Set(begun.map((b) => b.run.runId)).size).toBe(1);
        expect(begun.filter((b) => !b.resumed)).toHaveLength(1);
        const rows = await store.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${store.db.ident("fabra_materialize_runs")} WHERE feature = 'race'`,
        );
        expect(rows[0]?.n).toBe("1");
      } finally {
        await Promise.all(others.map((o) => o.close()));
      }
    });

    it("point-in-time reads probe the (feature, entity_id, computed_at, run_id) index backwards, with no sort", async () => {
      // 20 entities with 300 values each (one per run).
      const rows = Array.from({ length: 6000 }, (_, i) => ({
        feature: "plan",
        entityId: `e${i % 20}`,
        valueJson: String(i),
        computedAt: fromEpochMicros(1_767_225_600_000_000n + BigInt(Math.floor(i / 20)) * 1_000_000n),
        runId: `run_${String(Math.floor(i / 20)).padStart(4, "0")}`,
      }));
      await store.writeValues(rows);
      await store.db.query(`ANALYZE ${store.db.ident("fabra_feature_values")}`);
      const features = [{ name: "plan" }, { name: "plan", maxAgeMs: 60_000 }];
      const { sql, paramsFor } = joinStatement(
        store.db.ident("fabra_feature_values"),
        features,
        [null, ["2026-01-01T00:00:00Z"]],
        { includeComputedAt: true },
      );
      const explained = await store.db.query<{ "QUERY PLAN": string }>(
        `EXPLAIN ${sql}`,
        paramsFor(["e1"], ["2026-01-01T00:03:00Z"], 0, 1),
      );
      const plan = explained.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan.match(/Index Scan Backward using fabra_feature_values_pit/g)).toHaveLength(2);
      expect(plan).not.toMatch(/Sort|Seq Scan/);
      // And the answers: the newest value at or before the event, within the max age.
      const r = await store.pointInTime(
        { kind: "keys", entityIds: ["e1", "e1"], timestamps: ["2026-01-01T00:03:00.5Z", "2026-01-01T01:00:00Z"] },
        features,
      );
      expect(r.values).toEqual([
        ["3601", "5981"],
        ["3601", null],
      ]);
    });
  });

  it("connections dropped mid-write and restored: each batch is whole or absent, the pool recovers, re-writing is safe", async () => {
    const { proxy, url: viaProxy } = await proxiedPostgres(POSTGRES_URL);
    const s = await migratedSchema(POSTGRES_URL);
    const store = await openPg({ ...s.target, url: viaProxy });
    const count = async (feature: string) =>
      Number(
        (
          await store.db.query<{ n: string }>(
            `SELECT count(*) AS n FROM ${store.db.ident("fabra_feature_values")} WHERE feature = $1`,
            [feature],
          )
        )[0]?.n,
      );
    try {
      const batch = (feature: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          feature,
          entityId: `e${i}`,
          valueJson: String(i),
          computedAt: "2026-01-01T00:00:00Z",
          runId: "run_1",
        }));
      const batches = [batch("big", 30_000), ...Array.from({ length: 10 }, (_, k) => batch(`small${k}`, 200))];
      // Warm connections, then cut while the batches are in flight (the big one spans several statements).
      await Promise.all(Array.from({ length: 5 }, (_, k) => store.writeValues(batch(`warm${k}`, 1))));
      let cutAfter = 0;
      const inflight = batches.map((b) =>
        store.writeValues(b).then(
          () => {
            if (++cutAfter === 3) proxy.cut(); // some batches have committed, others are on the wire
            return "ok";
          },
          (e: unknown) => e,
        ),
      );
      const during = await Promise.all(inflight);
      for (const outcome of during)
        if (outcome !== "ok")
          expect(outcome).toMatchObject({
            code: "STORE_UNAVAILABLE",
            message: expect.stringContaining("stores.offline"),
          });
      expect(during).toContain("ok");
      expect(during.some((o) => o !== "ok")).toBe(true);
      await expect(store.beginRun("big", "manual")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
      proxy.restore();
      // Whole or absent, never part of a batch.
      for (const b of batches) expect([0, b.length]).toContain(await count(b[0]?.feature ?? ""));
      for (const [k, b] of batches.entries())
        if (during[k] === "ok") expect(await count(b[0]?.feature ?? "")).toBe(b.length);
      for (const b of batches) await store.writeValues(b);
      for (const b of batches) expect(await count(b[0]?.feature ?? "")).toBe(b.length);
      const { run, resumed } = await store.beginRun("big", "manual");
      expect(resumed).toBe(false);
      expect(
        (
          await store.pointInTime({ kind: "keys", entityIds: ["e29999"], timestamps: ["2026-01-02T00:00:00Z"] }, [
            { name: "big" },
          ])
        ).values,
      ).toEqual([["29999"]]);
      await store.endRun(run.runId, { status: "succeeded", entitiesWritten: 0, entitiesFailed: 0, error: null });
    } finally {
      await store.close();
      await proxy.close();
      await s.drop();
    }
  });

  describe("Postgres answers exactly like DuckDB", () => {
    let s: TestSchema;
    let pgStore: OfflineStore;
    let duck: OfflineStore;
    beforeAll(async () => {
      s = await migratedSchema(POSTGRES_URL);
      pgStore = await openPg(s.target);
      duck = await openDuck(duckFile());
    });
    afterAll(async () => {
      await pgStore?.close();
      await duck?.close();
      await s?.drop();
    });

    // Few instants (with microsecond neighbours) so ties, exact hits and 1 µs misses are common.
    const base = BigInt(Date.parse("2026-01-01T00:00:00Z")) * 1000n;
    const instant = fc
      .tuple(fc.integer({ min: 0, max: 10 }), fc.constantFrom(0, 0, 0, 1, -1))
      .map(([sec, us]) => fromEpochMicros(base + BigInt(sec * 1_000_000 + us)));
    const runId = fc.constantFrom("run_a", "run_b", "run_B", "run_é", "run_a0", null);
    const row = fc.record({
      feature: fc.constantFrom(0, 1),
      entity: fc.constantFrom("a", "b", "A", "é"),
      at: instant,
      run: runId,
      value: fc.oneof(
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Number.isInteger(d) ? `${d}.0` : String(d))),
      ),
    });
    const event = fc.record({ entity: fc.constantFrom("a", "b", "A", "é", "zz"), at: instant });
    const maxAge = fc.option(
      fc.integer({ min: 0, max: 12_000_000 }).map((us) => us / 1000),
      { nil: undefined },
    );
    let n = 0;

    it("on random histories, events and max ages: same values and computed_at, and both equal the brute-force answer", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(row, { maxLength: 50 }),
          fc.array(event, { minLength: 1, maxLength: 40 }),
          maxAge,
          maxAge,
          async (history, events, age0, age1) => {
            const names = [`p${++n}_0`, `p${n}_1`];
            const rows: FeatureValueRow[] = history.map((h) => ({
              feature: names[h.feature] as string,
              entityId: h.entity,
              valueJson: String(h.value),
              computedAt: h.at,
              runId: h.run,
            }));
            // The same batches, in the same order, to both (read values get their own random run ids in each store).
            for (let i = 0; i < rows.length; i += 9) {
              await duck.writeValues(rows.slice(i, i + 9));
              await pgStore.writeValues(rows.slice(i, i + 9));
            }
            const features: PitFeature[] = names.map((name, k) => {
              const a = k === 0 ? age0 : age1;
              return a === undefined ? { name } : { name, maxAgeMs: a };
            });
            const keys = {
              kind: "keys" as const,
              entityIds: events.map((e) => e.entity),
              timestamps: events.map((e) => e.at),
            };
            const [fromPg, fromDuck] = await Promise.all([
              pgStore.pointInTime(keys, features, { includeComputedAt: true }),
              duck.pointInTime(keys, features, { includeComputedAt: true }),
            ]);
            expect(fromPg.computedAt).toEqual(fromDuck.computedAt);
            features.forEach((f, k) => {
              events.forEach((e, i) => {
                const want = oracle(rows, f, e.entity, e.at);
                expect(fromDuck.computedAt?.[k]?.[i], `${f.name} ${e.entity}@${e.at}`).toBe(want.computedAt);
                // Two values computed on read at the same instant: which wins depends on their random run ids.
                if (want.determinate) {
                  expect(fromPg.values[k]?.[i]).toBe(want.valueJson);
                  expect(fromDuck.values[k]?.[i]).toBe(want.valueJson);
                }
              });
            });
            // latest() with and without asOf agrees too.
            for (const e of events.slice(0, 5)) {
              for (const name of names) {
                const [p, d] = await Promise.all([
                  pgStore.latest(name, e.entity, e.at),
                  duck.latest(name, e.entity, e.at),
                ]);
                expect(p?.computedAt).toBe(d?.computedAt);
                if (p?.runId !== null) expect(p).toEqual(d);
              }
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  });
});

/** The answer by brute force: first write of a (feature, entity, run) kept; max computed_at <= T, then max run id (bytes). */
function oracle(
  rows: FeatureValueRow[],
  f: PitFeature,
  entity: string,
  at: string,
): { valueJson: string | null; computedAt: string | null; determinate: boolean } {
  const t = toEpochMicros(at);
  const kept = new Map<string, FeatureValueRow & { run: string }>();
  rows.forEach((r, i) => {
    if (r.feature !== f.name || r.entityId !== entity) return;
    const run = r.runId ?? `read:${i}`;
    if (!kept.has(run)) kept.set(run, { ...r, run });
  });
  const bytes = (s: string) => Buffer.from(s, "utf8");
  const candidates = [...kept.values()].filter((r) => toEpochMicros(r.computedAt) <= t);
  candidates.sort((x, y) => {
    const dx = toEpochMicros(x.computedAt) - toEpochMicros(y.computedAt);
    return dx !== 0n ? (dx < 0n ? -1 : 1) : Buffer.compare(bytes(x.run), bytes(y.run));
  });
  const best = candidates.at(-1);
  if (
    !best ||
    (f.maxAgeMs !== undefined && toEpochMicros(best.computedAt) < t - BigInt(Math.round(f.maxAgeMs * 1000)))
  ) {
    return { valueJson: null, computedAt: null, determinate: true };
  }
  const tied = candidates.filter((c) => c.computedAt === best.computedAt);
  const determinate = !best.run.startsWith("read:") || tied.filter((c) => c.run.startsWith("read:")).length === 1;
  return { valueJson: best.valueJson, computedAt: best.computedAt, determinate };
}

describeOnPglite("PGlite over the wire protocol", (url) => {
  offlineStoreContract(
    "postgres (PGlite socket)",
    onMigratedSchema(url, (target) => openPg(target)),
  );
});
