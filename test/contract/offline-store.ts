// The OfflineStore contract: every history backend gives the same answers to the same calls — batch writes that
// keep the first value of a (feature, entity, run), exact kind-preserving values and microsecond times, latest and
// point-in-time reads with the tie rule (greatest computed_at <= T, then greatest run id in byte order) and max age,
// runs (begin, resume, end, latestRuns), and the entities query.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FabraError } from "../../src/errors.js";
import { normalizeDatetime, toEpochMicros } from "../../src/record/datetime.js";
import type { FeatureValueRow, OfflineStore } from "../../src/stores/types.js";

export interface OfflineStoreHarness {
  /** A fresh, empty history. */
  open(): Promise<OfflineStore>;
  cleanup?(): Promise<void>;
}

const T = (s: string) => normalizeDatetime(s);
export const historyRow = (
  feature: string,
  entityId: string,
  valueJson: string,
  at: string,
  runId: string | null = "run_a",
): FeatureValueRow => ({
  feature,
  entityId,
  valueJson,
  computedAt: T(at),
  runId,
});

/** Every JSON kind as fabra stores it, with the exact text that must come back. */
export const VALUE_KINDS: [string, string][] = [
  ["float", "12.0"],
  ["neg_zero", "-0.0"],
  ["frac", "0.1"],
  ["exp", "1.5e-300"],
  ["int70", "1180591620717411303424"],
  ["neg_big", "-9007199254740993"],
  ["safe", "9007199254740991"],
  ["string", '"héllo \\"q\\" 🎉 \\u0000 | tab\\t"'],
  ["empty_string", '""'],
  ["bool", "false"],
  ["null", "null"],
  ["object", '{"a":[1,2.5,{"b":null}],"big":123456789012345678901234,"f":3.0}'],
  ["array", "[]"],
];

export function offlineStoreContract(name: string, harness: OfflineStoreHarness): void {
  describe(`OfflineStore contract: ${name}`, () => {
    let store: OfflineStore;
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
      const before = await store.latestRuns();
      const checks = await store.probe();
      expect(checks.length).toBeGreaterThan(0);
      for (const check of checks) {
        expect(check.name).toMatch(/\S/);
        expect(check.detail).toMatch(/\S/);
        expect(check.state, `${check.name}: ${check.detail}`).not.toBe("fail");
      }
      expect(await store.latestRuns()).toEqual(before);
    });
    const pit = (feature: string, events: [string, string][], extra: { maxAgeMs?: number } = {}) =>
      store.pointInTime(
        { kind: "keys", entityIds: events.map((e) => e[0]), timestamps: events.map((e) => T(e[1])) },
        [{ name: feature, ...extra }],
        {
          includeComputedAt: true,
        },
      );

    it("keeps every JSON kind exactly (12.0 a float, 70-bit integers exact) and times to the microsecond", async () => {
      await store.writeValues(
        VALUE_KINDS.map(([id, json], i) =>
          historyRow("kinds", id, json, `2026-02-01T00:00:00.${String(i + 1).padStart(6, "0")}Z`),
        ),
      );
      for (const [i, [id, json]] of VALUE_KINDS.entries()) {
        expect(await store.latest("kinds", id)).toEqual({
          feature: "kinds",
          entityId: id,
          valueJson: json,
          computedAt: `2026-02-01T00:00:00.${String(i + 1).padStart(6, "0")}Z`,
          // Known when it was computed, unless the writer says otherwise.
          knownAt: `2026-02-01T00:00:00.${String(i + 1).padStart(6, "0")}Z`,
          runId: "run_a",
        });
      }
      const result = await pit(
        "kinds",
        VALUE_KINDS.map(([id]) => [id, "2026-03-01T00:00:00Z"]),
      );
      expect(result.values[0]).toEqual(VALUE_KINDS.map(([, json]) => json));
      // Times given with an offset or more digits are stored as the instant they name.
      await store.writeValues([
        {
          feature: "kinds",
          entityId: "offset",
          valueJson: "1",
          computedAt: "2026-02-01T01:00:00.1234567+01:00",
          runId: "run_a",
        },
      ]);
      expect((await store.latest("kinds", "offset"))?.computedAt).toBe("2026-02-01T00:00:00.123456Z");
      await expect(
        store.writeValues([
          historyRow("kinds", "x", "1", "2026-02-01T00:00:00Z"),
          { ...historyRow("kinds", "y", "1", "2026-02-01T00:00:00Z"), computedAt: "yesterday" },
        ]),
      ).rejects.toBeInstanceOf(FabraError);
      expect(await store.latest("kinds", "x")).toBeNull(); // the batch failed as a whole
    });

    it("writes are idempotent: a (feature, entity, run) already stored keeps its first value, in later and in the same batch", async () => {
      await store.writeValues([historyRow("idem", "u1", '"first"', "2026-01-01T00:00:00Z")]);
      await store.writeValues([
        historyRow("idem", "u1", '"second"', "2026-01-02T00:00:00Z"),
        historyRow("idem", "u2", '"u2"', "2026-01-01T00:00:00Z"),
      ]);
      expect(await store.latest("idem", "u1")).toMatchObject({
        valueJson: '"first"',
        computedAt: "2026-01-01T00:00:00Z",
      });
      expect((await store.latest("idem", "u2"))?.valueJson).toBe('"u2"');
      await store.writeValues([
        historyRow("idem", "u3", '"one"', "2026-01-01T00:00:00Z", "run_x"),
        historyRow("idem", "u3", '"two"', "2026-01-03T00:00:00Z", "run_x"),
      ]);
      expect(await store.latest("idem", "u3")).toMatchObject({ valueJson: '"one"', runId: "run_x" });
      // The same batch written by several callers at once: no error, one row per (feature, entity, run).
      const batch = Array.from({ length: 50 }, (_, i) =>
        historyRow("idem_race", `e${i}`, String(i), "2026-01-01T00:00:00Z", "run_r"),
      );
      await Promise.all(Array.from({ length: 6 }, () => store.writeValues(batch)));
      expect(await store.writtenEntities("idem_race", "run_r")).toEqual(new Set(batch.map((r) => r.entityId)));
      // Values computed on read (no run) are each kept, and read back with runId null.
      await store.writeValues([
        historyRow("idem", "r1", "1", "2026-01-01T00:00:00Z", null),
        historyRow("idem", "r1", "2", "2026-01-05T00:00:00Z", null),
      ]);
      expect(await store.latest("idem", "r1")).toMatchObject({ valueJson: "2", runId: null });
      expect(await store.latest("idem", "r1", T("2026-01-04T00:00:00Z"))).toMatchObject({
        valueJson: "1",
        runId: null,
      });
      await store.writeValues([]);
    });

    it("latest: the newest value at or before asOf (a value at exactly asOf counts), null before the first", async () => {
      await store.writeValues([
        historyRow("lat", "u1", "1", "2026-01-01T00:00:00Z"),
        historyRow("lat", "u1", "2", "2026-01-02T00:00:00.000001Z", "run_b"),
        historyRow("lat", "u2", "9", "2026-01-03T00:00:00Z", "run_b"),
      ]);
      expect((await store.latest("lat", "u1"))?.valueJson).toBe("2");
      expect((await store.latest("lat", "u1", T("2026-01-02T00:00:00.000001Z")))?.valueJson).toBe("2");
      expect((await store.latest("lat", "u1", T("2026-01-02T00:00:00Z")))?.valueJson).toBe("1");
      expect(await store.latest("lat", "u1", T("2025-12-31T23:59:59.999999Z"))).toBeNull();
      expect(await store.latest("lat", "nobody")).toBeNull();
      expect(await store.latest("no_such_feature", "u1")).toBeNull();
    });

    it("pointInTime: the latest value at or before each event, never a later one, in event order, with computed_at", async () => {
      await store.writeValues([
        historyRow("pit", "u2", "20", "2026-01-02T00:00:00Z"),
        historyRow("pit", "u1", "1", "2026-01-01T00:00:00Z"),
        historyRow("pit", "u1", "2", "2026-01-03T00:00:00Z", "run_b"),
      ]);
      await store.writeValues([historyRow("pit", "u2", "21", "2026-01-01T06:00:00Z", "run_b")]);
      const r = await pit("pit", [
        ["u1", "2026-01-03T00:00:00Z"],
        ["u1", "2025-12-31T23:59:59.999999Z"],
        ["u2", "2026-01-01T06:00:00Z"],
        ["u1", "2026-01-02T23:59:59.999999Z"],
        ["u3", "2026-06-01T00:00:00Z"],
        ["u2", "2026-01-05T00:00:00Z"],
        ["u1", "2026-01-03T00:00:00Z"],
      ]);
      expect(r.values[0]).toEqual(["2", null, "21", "1", null, "20", "2"]);
      expect(r.computedAt?.[0]).toEqual([
        "2026-01-03T00:00:00Z",
        null,
        "2026-01-01T06:00:00Z",
        "2026-01-01T00:00:00Z",
        null,
        "2026-01-02T00:00:00Z",
        "2026-01-03T00:00:00Z",
      ]);
      // Several features at once; computedAt only when asked.
      const two = await store.pointInTime(
        { kind: "keys", entityIds: ["u1", "u2"], timestamps: [T("2026-01-10T00:00:00Z"), T("2026-01-10T00:00:00Z")] },
        [{ name: "pit" }, { name: "lat" }],
      );
      expect(two).toEqual({
        values: [
          ["2", "20"],
          ["2", "9"],
        ],
      });
      expect(await store.pointInTime({ kind: "keys", entityIds: [], timestamps: [] }, [{ name: "pit" }])).toEqual({
        values: [[]],
      });
      expect(
        await store.pointInTime({ kind: "keys", entityIds: ["u1"], timestamps: [T("2026-01-10T00:00:00Z")] }, []),
      ).toEqual({ values: [] });
      await expect(
        store.pointInTime({ kind: "keys", entityIds: ["u1"], timestamps: [] }, [{ name: "pit" }]),
      ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(pit("pit", [["u1", "2026-01-01T00:00:00Z"]], { maxAgeMs: -1 })).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
    });

    it("ties on computed_at go to the greatest run id in byte order (not the locale's), also when written later", async () => {
      const at = "2026-03-01T00:00:00Z";
      const ask = async (entity: string) =>
        (
          await pit("tie", [
            [entity, at],
            [entity, "2026-03-02T00:00:00Z"],
          ])
        ).values[0];
      await store.writeValues([historyRow("tie", "e1", '"run_b"', at, "run_b")]);
      await store.writeValues([historyRow("tie", "e1", '"run_a"', at, "run_a")]); // a backfill of an older run
      expect(await ask("e1")).toEqual(['"run_b"', '"run_b"']);
      await store.writeValues([historyRow("tie", "e1", '"run_c"', at, "run_c")]);
      expect(await ask("e1")).toEqual(['"run_c"', '"run_c"']);
      // Byte order: "run_B" < "run_a" < "run_é" ("é" is 0xC3 0xA9), whatever a locale would say.
      await store.writeValues([
        historyRow("tie", "e2", '"B"', at, "run_B"),
        historyRow("tie", "e2", '"a"', at, "run_a"),
      ]);
      expect(await ask("e2")).toEqual(['"a"', '"a"']);
      await store.writeValues([historyRow("tie", "e2", '"é"', at, "run_é")]);
      expect(await ask("e2")).toEqual(['"é"', '"é"']);
      // A value computed on read ("read:<uuid>") loses a tie to a materialized one ("run_...").
      await store.writeValues([
        historyRow("tie", "e3", '"read"', at, null),
        historyRow("tie", "e3", '"run"', at, "run_0"),
      ]);
      expect(await ask("e3")).toEqual(['"run"', '"run"']);
      expect((await store.latest("tie", "e3"))?.valueJson).toBe('"run"');
      expect((await store.latest("tie", "e2", T(at)))?.valueJson).toBe('"é"');
    });

    it("max age: a value exactly maxAge old is served, 1 µs older is null; 0 serves only values at T; huge ages do not overflow", async () => {
      await store.writeValues([
        historyRow("age", "u1", "1", "2026-01-01T00:00:00Z"),
        historyRow("age", "u1", "2", "2026-01-03T00:00:00Z", "run_b"),
      ]);
      const day = 86_400_000;
      const events: [string, string][] = [
        ["u1", "2026-01-02T00:00:00Z"],
        ["u1", "2026-01-02T00:00:00.000001Z"],
        ["u1", "2026-01-03T05:00:00Z"],
        ["u1", "2026-01-03T00:00:00Z"],
        ["u1", "2025-01-01T00:00:00Z"],
      ];
      expect((await pit("age", events, { maxAgeMs: day })).values[0]).toEqual(["1", null, "2", "2", null]);
      expect((await pit("age", events, { maxAgeMs: 0 })).values[0]).toEqual([null, null, null, "2", null]);
      expect((await pit("age", events, { maxAgeMs: 0.001 })).values[0]).toEqual([null, null, null, "2", null]);
      expect((await pit("age", [["u1", "2026-01-01T00:00:00.000001Z"]], { maxAgeMs: 0.001 })).values[0]).toEqual(["1"]);
      expect((await pit("age", events, { maxAgeMs: Number.MAX_SAFE_INTEGER })).values[0]).toEqual([
        "1",
        "1",
        "2",
        "2",
        null,
      ]);
      expect((await pit("age", [["u1", "0001-01-02T00:00:00Z"]], { maxAgeMs: 10 * day })).values[0]).toEqual([null]);
    });

    it("known time: by event time a late backfill counts at its event time; with knownTime only once it was known", async () => {
      await store.writeValues([
        { ...historyRow("known", "u1", "1", "2026-01-01T00:00:00Z"), knownAt: T("2026-01-01T00:00:00Z") },
        // Backfilled on Mar 1 with an event time of Jan 15; the same event time learned twice: the later known wins.
        { ...historyRow("known", "u1", "2", "2026-01-15T00:00:00Z", "run_z"), knownAt: T("2026-03-01T00:00:00Z") },
        { ...historyRow("known", "u1", "3", "2026-01-15T00:00:00Z", "run_b"), knownAt: T("2026-04-01T00:00:00Z") },
      ]);
      const events: [string, string][] = [
        ["u1", "2026-01-20T00:00:00Z"],
        ["u1", "2026-03-01T00:00:00Z"],
        ["u1", "2026-04-02T00:00:00Z"],
        ["u2", "2026-04-02T00:00:00Z"],
      ];
      const keys = {
        kind: "keys" as const,
        entityIds: events.map((e) => e[0]),
        timestamps: events.map((e) => T(e[1])),
      };
      const byEvent = await store.pointInTime(keys, [{ name: "known" }], { includeComputedAt: true });
      expect(byEvent.values[0]).toEqual(["3", "3", "3", null]);
      const byKnown = await store.pointInTime(keys, [{ name: "known" }], { includeComputedAt: true, knownTime: true });
      expect(byKnown.values[0]).toEqual(["1", "2", "3", null]);
      expect(byKnown.computedAt?.[0]).toEqual([
        T("2026-01-01T00:00:00Z"),
        T("2026-01-15T00:00:00Z"),
        T("2026-01-15T00:00:00Z"),
        null,
      ]);
      expect((await store.latest("known", "u1"))?.knownAt).toBe(T("2026-04-01T00:00:00Z"));
    });

    it("pointInTime equals a brute-force as-of join on random histories, by event time and by known time", async () => {
      for (const seed of [1, 2, 3]) {
        let s = seed * 7919;
        const rand = () => {
          s = (s * 1103515245 + 12345) % 2147483648;
          return s / 2147483648;
        };
        const feature = `rand_${seed}`;
        const base = Date.UTC(2026, 0, 1);
        const at = (n: number) => new Date(base + n * 60_000).toISOString();
        const rows: FeatureValueRow[] = [];
        for (let i = 0; i < 300; i++) {
          const t = Math.floor(rand() * 30);
          const late = rand() < 0.4 ? Math.floor(rand() * 20) : 0;
          rows.push({
            ...historyRow(feature, `e${Math.floor(rand() * 8)}`, String(i), at(t), `run_${String(i).padStart(4, "0")}`),
            knownAt: T(at(t + (rand() < 0.2 ? 0 : late))),
          });
        }
        // Written in batches out of order (later event times first), as backfills are.
        for (let b = rows.length - 100; b >= 0; b -= 100) await store.writeValues(rows.slice(b, b + 100));
        const events: [string, string][] = Array.from({ length: 200 }, () => [
          `e${Math.floor(rand() * 9)}`,
          at(Math.floor(rand() * 52) - 2),
        ]);
        const keys = {
          kind: "keys" as const,
          entityIds: events.map((e) => e[0]),
          timestamps: events.map((e) => T(e[1])),
        };
        for (const knownTime of [false, true]) {
          const maxAgeMs = rand() < 0.5 ? undefined : 10 * 60_000;
          const got = await store.pointInTime(keys, [{ name: feature, maxAgeMs }], {
            includeComputedAt: true,
            knownTime,
          });
          const want = events.map(([entity, time]) => {
            const t = Date.parse(time);
            let best: FeatureValueRow | null = null;
            for (const r of rows) {
              const rt = Date.parse(r.computedAt);
              const rk = Date.parse(r.knownAt as string);
              if (r.entityId !== entity || rt > t || (knownTime && rk > t)) continue;
              if (best === null) best = r;
              else {
                const bt = Date.parse(best.computedAt);
                const bk = Date.parse(best.knownAt as string);
                if (rt > bt || (rt === bt && (rk > bk || (rk === bk && (r.runId as string) > (best.runId as string)))))
                  best = r;
              }
            }
            if (best === null || (maxAgeMs !== undefined && Date.parse(best.computedAt) < t - maxAgeMs)) return null;
            return best.valueJson;
          });
          expect(got.values[0], `seed ${seed}, knownTime ${knownTime}, maxAge ${maxAgeMs}`).toEqual(want);
        }
      }
    });

    it("runs: begin, resume after a crash or an interruption (same id, startedAt and trigger), end, latestRuns", async () => {
      const { run: first, resumed } = await store.beginRun("feat_b", "schedule");
      expect(resumed).toBe(false);
      expect(first).toMatchObject({
        feature: "feat_b",
        trigger: "schedule",
        status: "running",
        finishedAt: null,
        entitiesWritten: 0,
        entitiesFailed: 0,
        error: null,
        attempt: 1,
      });
      expect(first.runId).toMatch(/^run_[0-9a-f-]{36}$/);
      // A crash leaves it running: the next begin resumes it.
      const again = await store.beginRun("feat_b", "manual");
      expect(again).toEqual({ run: { ...first, attempt: 2 }, resumed: true });
      await store.writeValues([
        historyRow("feat_b", "u1", "1", first.startedAt, first.runId),
        historyRow("feat_b", "u2", "1", first.startedAt, first.runId),
      ]);
      expect(await store.writtenEntities("feat_b", first.runId)).toEqual(new Set(["u1", "u2"]));
      expect(await store.writtenEntities("feat_b", "run_other")).toEqual(new Set());
      const stopped = await store.endRun(first.runId, {
        status: "interrupted",
        entitiesWritten: 2,
        entitiesFailed: 0,
        error: "shutdown",
      });
      expect(stopped).toMatchObject({
        runId: first.runId,
        status: "interrupted",
        entitiesWritten: 2,
        error: "shutdown",
        startedAt: first.startedAt,
      });
      expect(stopped.finishedAt).not.toBeNull();
      const resumedRun = await store.beginRun("feat_b", "manual");
      expect(resumedRun).toEqual({ run: { ...first, entitiesWritten: 2, attempt: 3 }, resumed: true });
      const done = await store.endRun(first.runId, {
        status: "succeeded",
        entitiesWritten: 3,
        entitiesFailed: 1,
        error: "u9: boom",
      });
      expect(done).toMatchObject({
        status: "succeeded",
        entitiesWritten: 3,
        entitiesFailed: 1,
        error: "u9: boom",
        trigger: "schedule",
      });
      expect(toEpochMicros(done.finishedAt ?? "") >= toEpochMicros(done.startedAt)).toBe(true);
      const { run: second, resumed: secondResumed } = await store.beginRun("feat_b", "manual");
      expect(secondResumed).toBe(false);
      expect(second.runId > first.runId).toBe(true);
      await store.endRun(second.runId, { status: "partial", entitiesWritten: 1, entitiesFailed: 2, error: "x: y" });
      const { run: other } = await store.beginRun("feat_A", "manual");
      const { run: third } = await store.beginRun("feat_é", "schedule");

      const latest = await store.latestRuns();
      const mine = latest.filter((r) => r.feature.startsWith("feat_"));
      expect(mine.map((r) => [r.feature, r.runId, r.status])).toEqual([
        ["feat_A", other.runId, "running"],
        ["feat_b", second.runId, "partial"],
        ["feat_é", third.runId, "running"],
      ]);
      expect((await store.latestRuns(["feat_b", "nope"])).map((r) => r.runId)).toEqual([second.runId]);
      expect(await store.latestRuns([])).toEqual([]);
      expect((await store.latestRuns(["feat_b"]))[0]).toEqual({
        ...second,
        status: "partial",
        entitiesWritten: 1,
        entitiesFailed: 2,
        error: "x: y",
        finishedAt: expect.any(String),
      });
      await expect(
        store.endRun("run_nope", { status: "succeeded", entitiesWritten: 0, entitiesFailed: 0, error: null }),
      ).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(
        store.endRun(other.runId, { status: "running" as never, entitiesWritten: 0, entitiesFailed: 0, error: null }),
      ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    });

    it("endRun is fenced by the attempt: a stale worker can neither end a run another resumed nor undo a finished one", async () => {
      const { run: stale } = await store.beginRun("feat_fence", "schedule");
      // The stale worker's lock expired; another worker resumed the run (attempt 2) and is still running it.
      const { run: current } = await store.beginRun("feat_fence", "schedule");
      expect([stale.attempt, current.attempt]).toEqual([1, 2]);
      const early = await store.endRun(stale.runId, {
        status: "interrupted",
        attempt: stale.attempt,
        entitiesWritten: 1,
        entitiesFailed: 0,
        error: "lost the lock",
      });
      expect(early).toMatchObject({ status: "running", attempt: 2, finishedAt: null, error: null, entitiesWritten: 0 });
      const done = await store.endRun(current.runId, {
        status: "succeeded",
        attempt: current.attempt,
        entitiesWritten: 5,
        entitiesFailed: 0,
        error: null,
      });
      expect(done).toMatchObject({ status: "succeeded", attempt: 2, entitiesWritten: 5 });
      // The stale worker wakes up and ends "its" run: nothing changes, and the finished run is not resumed.
      const late = await store.endRun(stale.runId, {
        status: "interrupted",
        attempt: stale.attempt,
        entitiesWritten: 1,
        entitiesFailed: 0,
        error: "lost the lock",
      });
      expect(late).toEqual(done);
      expect(await store.latestRuns(["feat_fence"])).toEqual([done]);
      // Ending the current attempt twice (a retried call) leaves the first outcome.
      const again = await store.endRun(current.runId, {
        status: "interrupted",
        attempt: current.attempt,
        entitiesWritten: 0,
        entitiesFailed: 0,
        error: "x",
      });
      expect(again).toEqual(done);
      const next = await store.beginRun("feat_fence", "schedule");
      expect(next.resumed).toBe(false);
      expect(next.run.runId).not.toBe(stale.runId);
      await expect(
        store.endRun("run_nope", {
          status: "succeeded",
          attempt: 1,
          entitiesWritten: 0,
          entitiesFailed: 0,
          error: null,
        }),
      ).rejects.toMatchObject({ code: "NOT_FOUND" });
    });

    it("queryEntityIds: the first column as text in the query's order, fabra's history visible by name; nulls and errors are INVALID_DEFINITION", async () => {
      expect(await store.queryEntityIds("SELECT 42 AS id, 'x' AS other UNION ALL SELECT 7, 'y';")).toEqual(["42", "7"]);
      expect(await store.queryEntityIds("SELECT '007'")).toEqual(["007"]);
      await store.writeValues([
        historyRow("src", "b", "1", "2026-01-01T00:00:00Z"),
        historyRow("src", "a", "1", "2026-01-01T00:00:00Z"),
        historyRow("src", "B", "1", "2026-01-01T00:00:00Z"),
      ]);
      expect(
        await store.queryEntityIds(
          "SELECT entity_id FROM fabra_feature_values WHERE feature = 'src' ORDER BY entity_id DESC",
        ),
      ).toEqual(["b", "a", "B"]);
      expect(await store.queryEntityIds("SELECT 1 WHERE 1 = 0")).toEqual([]);
      await expect(store.queryEntityIds("SELECT NULL")).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message: expect.stringMatching(/null id \(row 1\)/),
      });
      await expect(store.queryEntityIds("SELECT id FROM no_such_table")).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message: expect.stringMatching(/no_such_table/),
      });
      await expect(store.queryEntityIds("SELEC 1")).rejects.toMatchObject({ code: "INVALID_DEFINITION" });
    });

    it("big inputs: a batch of 12,000 values in one call, 25,000 events in one point-in-time call", async () => {
      const n = 12_000;
      await store.writeValues(
        Array.from({ length: n }, (_, i) =>
          historyRow(
            "big",
            `e${i % 3000}`,
            String(i),
            `2026-01-01T00:00:${String(Math.floor(i / 3000) * 10).padStart(2, "0")}Z`,
            `run_${i % 7}`,
          ),
        ),
      );
      const events = 25_000;
      const ids = Array.from({ length: events }, (_, i) => `e${(i * 7919) % 3100}`);
      const times = Array.from({ length: events }, (_, i) => T(`2026-01-01T00:00:${String(i % 40).padStart(2, "0")}Z`));
      const r = await store.pointInTime({ kind: "keys", entityIds: ids, timestamps: times }, [
        { name: "big" },
        { name: "big", maxAgeMs: 5000 },
      ]);
      for (let i = 0; i < events; i += 997) {
        const e = Number(ids[i]?.slice(1));
        const second = i % 40;
        const slot = Math.min(3, Math.floor(second / 10));
        const expected = e >= 3000 ? null : String(slot * 3000 + e);
        expect(r.values[0]?.[i], `event ${i}`).toBe(expected);
        expect(r.values[1]?.[i], `event ${i} (max age 5s)`).toBe(second - slot * 10 <= 5 ? expected : null);
      }
    });
  });
}
