// Point-in-time correctness of the offline store and getTrainingData on hand-built histories: exact ties, events
// before the first value, interleaved entities, unsorted input, ttl expiry, every JSON kind, run-id tie-breaks,
// CSV/Parquet events and their errors; plus a fast-check property against a brute-force oracle (no leakage).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import { normalizeDatetime, toEpochMicros } from "../../src/record/datetime.js";
import { openOfflineStore } from "../../src/stores/index.js";
import type { FeatureValueRow, OfflineStore } from "../../src/stores/types.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("fabra-pit-");
const user = entity("user");
const defs = {
  user,
  score: feature({ entity: user }, () => 0),
  tier: feature({ entity: user }, () => "free"),
  kinds: feature({ entity: user }, () => null),
  tied: feature({ entity: user }, () => null),
};

let fabra: FabraRuntime;
const T = (s: string) => normalizeDatetime(s);
const row = (
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

beforeAll(async () => {
  fabra = await createFabra({
    definitions: defs,
    stores: { offline: { type: "duckdb", path: join(dir, "pit.duckdb") } },
    warn: () => {},
  });
  // Written out of order, in several batches, interleaving entities.
  await fabra.stores.offline.writeValues([
    row("score", "u2", "20", "2026-01-02T00:00:00Z"),
    row("score", "u1", "1", "2026-01-01T00:00:00Z"),
    row("tier", "u1", '"gold"', "2026-01-01T12:00:00Z"),
  ]);
  await fabra.stores.offline.writeValues([
    row("score", "u1", "2", "2026-01-03T00:00:00Z", "run_b"),
    row("score", "u2", "21", "2026-01-01T06:00:00Z", "run_b"),
    row("tier", "u2", '"free"', "2026-01-02T00:00:00.000001Z", "run_b"),
  ]);
});
afterAll(() => fabra.close());

describe("getTrainingData on a hand-built history", () => {
  it("joins the latest value at or before each event, in event order, never a later one", async () => {
    const events = [
      { entity_id: "u1", timestamp: "2026-01-03T00:00:00Z", label: "tie: value written at exactly T" },
      { entity_id: "u1", timestamp: "2025-12-31T23:59:59.999999Z", label: "before any value" },
      { entity_id: "u2", timestamp: "2026-01-01T06:00:00Z", label: "u2 first value at T" },
      { entity_id: "u1", timestamp: "2026-01-02T23:59:59.999999Z", label: "1 µs before the second value" },
      { entity_id: "u2", timestamp: "2026-01-02T00:00:00Z", label: "tier 1 µs before its value" },
      { entity_id: "u3", timestamp: "2026-06-01T00:00:00Z", label: "unknown entity" },
      { entity_id: "u2", timestamp: new Date("2026-01-05T00:00:00Z"), label: "Date input" },
      { entity_id: "u1", timestamp: Date.parse("2026-01-01T12:00:00Z"), label: "epoch ms input" },
    ];
    const rows = await fabra.getTrainingData({ entities: events, features: ["score", "tier"], includeAsOf: true });
    expect(rows.map((r) => [r.label, r.score, r.tier, r.score_as_of, r.tier_as_of])).toEqual([
      ["tie: value written at exactly T", 2, "gold", "2026-01-03T00:00:00Z", "2026-01-01T12:00:00Z"],
      ["before any value", null, null, null, null],
      ["u2 first value at T", 21, null, "2026-01-01T06:00:00Z", null],
      ["1 µs before the second value", 1, "gold", "2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z"],
      ["tier 1 µs before its value", 20, null, "2026-01-02T00:00:00Z", null],
      ["unknown entity", null, null, null, null],
      ["Date input", 20, "free", "2026-01-02T00:00:00Z", "2026-01-02T00:00:00.000001Z"],
      ["epoch ms input", 1, "gold", "2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z"],
    ]);
    // The caller's rows are left as they were.
    expect(events[0]).not.toHaveProperty("score");
  });

  it("nulls values older than the ttl (a value exactly ttl old is still served)", async () => {
    const events = [
      { user: "u1", at: "2026-01-02T00:00:00Z" }, // score 1 is exactly 1 day old
      { user: "u1", at: "2026-01-02T00:00:00.000001Z" }, // 1 day + 1 µs old
      { user: "u1", at: "2026-01-03T05:00:00Z" }, // score 2 is 5 h old
    ];
    const rows = await fabra.getTrainingData({
      entities: events,
      entityColumn: "user",
      timestampColumn: "at",
      features: [{ name: "score", ttl: "1d" }, "tier"],
      ttl: "1h", // default for features without their own
    });
    expect(rows.map((r) => [r.score, r.tier])).toEqual([
      [1, null],
      [null, null],
      [2, null],
    ]);
  });

  it("keeps every JSON kind: 12.0 stays a float in the store, big ints stay exact, nested values, null", async () => {
    const store = fabra.stores.offline;
    const kinds: [string, string, unknown][] = [
      ["k_float", "12.0", 12],
      ["k_frac", "0.1", 0.1],
      ["k_big", "1180591620717411303424", 1180591620717411303424n],
      ["k_neg_big", "-9007199254740993", -9007199254740993n],
      ["k_safe", "9007199254740991", 9007199254740991],
      ["k_str", '"héllo \\"q\\" 🎉"', 'héllo "q" 🎉'],
      ["k_bool", "false", false],
      ["k_null", "null", null],
      [
        "k_obj",
        '{"a":[1,2.5,{"b":null}],"big":123456789012345678901234}',
        { a: [1, 2.5, { b: null }], big: 123456789012345678901234n },
      ],
      ["k_arr", "[]", []],
    ];
    await store.writeValues(kinds.map(([id, json]) => row("kinds", id, json, "2026-02-01T00:00:00Z")));
    const rows = await fabra.getTrainingData({
      entities: kinds.map(([id]) => ({ entity_id: id, timestamp: "2026-02-01T00:00:00Z" })),
      features: ["kinds"],
      includeAsOf: true,
    });
    expect(rows.map((r) => r.kinds)).toEqual(kinds.map(([, , v]) => v));
    // JSON null is a value (as_of set), unlike a missing one.
    expect(rows.find((r) => r.entity_id === "k_null")?.kinds_as_of).toBe("2026-02-01T00:00:00Z");
    // The store hands back the exact text written.
    const pit = await store.pointInTime(
      { kind: "keys", entityIds: kinds.map(([id]) => id), timestamps: kinds.map(() => T("2026-03-01T00:00:00Z")) },
      [{ name: "kinds" }],
    );
    expect(pit.values[0]).toEqual(kinds.map(([, json]) => json));
    expect((await store.latest("kinds", "k_float"))?.valueJson).toBe("12.0");
  });

  it("breaks ties on computed_at by the greatest run id, also when the tie is written later", async () => {
    const store = fabra.stores.offline;
    await store.writeValues([
      row("tied", "e1", '"newer run"', "2026-03-01T00:00:00Z", "run_b"),
      row("tied", "e2", '"only"', "2026-03-05T00:00:00Z", "run_a"),
    ]);
    const ask = async () =>
      (
        await store.pointInTime(
          { kind: "keys", entityIds: ["e1", "e1"], timestamps: [T("2026-03-01T00:00:00Z"), T("2026-03-02T00:00:00Z")] },
          [{ name: "tied" }],
        )
      ).values[0];
    expect(await ask()).toEqual(['"newer run"', '"newer run"']);
    // A backfill writes an older run's value at the very same instant: still the greatest run id wins.
    await store.writeValues([row("tied", "e1", '"older run"', "2026-03-01T00:00:00Z", "run_a")]);
    expect(await ask()).toEqual(['"newer run"', '"newer run"']);
    await store.writeValues([row("tied", "e1", '"newest run"', "2026-03-01T00:00:00Z", "run_c")]);
    expect(await ask()).toEqual(['"newest run"', '"newest run"']);
    expect((await store.latest("tied", "e1"))?.valueJson).toBe('"newest run"');
    // Re-writing a (feature, entity, run) leaves the first value.
    await store.writeValues([row("tied", "e1", '"rewritten"', "2026-03-01T00:00:00Z", "run_c")]);
    expect(await ask()).toEqual(['"newest run"', '"newest run"']);
  });

  it("reads events from CSV and Parquet files, in file order, keeping entity ids as text", async () => {
    const csv = join(dir, "events.csv");
    writeFileSync(
      csv,
      [
        "user_id,ts,label,weight",
        "u2,2026-01-05T00:00:00Z,a,1.5",
        "u1,2026-01-01T13:00:00+01:00,b,2", // = 12:00 UTC: the tier value at exactly T
        "u1,2026-01-02 10:00:00,c,3", // no offset = UTC
        "007,2026-01-01,d,4",
        "u1,2025-01-01T00:00:00.5Z,e,5",
      ].join("\n") + "\n",
    );
    const rows = await fabra.getTrainingData({
      entities: csv,
      entityColumn: "user_id",
      timestampColumn: "ts",
      features: ["score", "tier"],
    });
    expect(rows).toEqual([
      { user_id: "u2", ts: "2026-01-05T00:00:00Z", label: "a", weight: 1.5, score: 20, tier: "free" },
      { user_id: "u1", ts: "2026-01-01T12:00:00Z", label: "b", weight: 2, score: 1, tier: "gold" },
      { user_id: "u1", ts: "2026-01-02T10:00:00Z", label: "c", weight: 3, score: 1, tier: "gold" },
      { user_id: "007", ts: "2026-01-01T00:00:00Z", label: "d", weight: 4, score: null, tier: null },
      { user_id: "u1", ts: "2025-01-01T00:00:00.500000Z", label: "e", weight: 5, score: null, tier: null },
    ]);

    const parquet = join(dir, "events.parquet");
    const instance = await DuckDBInstance.create(":memory:");
    const c = await instance.connect();
    await c.run(
      `COPY (SELECT * FROM (VALUES (3, 'u1', TIMESTAMP '2026-01-03 00:00:00'), (1, 'u2', TIMESTAMP '2026-01-01 06:00:00')) t(n, who, seen_at)) TO '${parquet}' (FORMAT parquet)`,
    );
    c.closeSync();
    instance.closeSync();
    const fromParquet = await fabra.getTrainingData({
      entities: parquet,
      entityColumn: "who",
      timestampColumn: "seen_at",
      features: ["score"],
    });
    expect(fromParquet).toEqual([
      { n: 3, who: "u1", seen_at: "2026-01-03T00:00:00Z", score: 2 },
      { n: 1, who: "u2", seen_at: "2026-01-01T06:00:00Z", score: 21 },
    ]);
  });

  it("gives the same rows when the store cannot read files and fabra reads the events for it", async () => {
    const csv = join(dir, "events.csv"); // written by the previous test
    const real = fabra.stores.offline;
    const noFiles = Object.create(real, {
      capabilities: { value: { ...real.capabilities, readsEventFiles: false } },
    }) as typeof real;
    let fileEvents = 0;
    noFiles.pointInTime = (events, features, options) => {
      if (events.kind === "file") fileEvents++;
      return real.pointInTime(events, features, options);
    };
    const args = {
      entities: csv,
      entityColumn: "user_id",
      timestampColumn: "ts",
      features: ["score", "tier"],
      includeAsOf: true,
    };
    const viaStore = await fabra.getTrainingData(args);
    const { getTrainingData } = await import("../../src/engine/features/training-data.js");
    const viaKeys = await getTrainingData({ definitions: fabra.definitions, offline: noFiles }, args);
    expect(fileEvents).toBe(0);
    expect(viaKeys).toEqual(viaStore);
    expect(viaKeys).toHaveLength(5);
  });

  it("fails the same way whether the store or fabra reads the events file", async () => {
    const real = fabra.stores.offline;
    const noFiles = Object.create(real, {
      capabilities: { value: { ...real.capabilities, readsEventFiles: false } },
    }) as typeof real;
    const { getTrainingData } = await import("../../src/engine/features/training-data.js");
    const cases = [
      [
        "clash.csv",
        "entity_id,timestamp,score\nu1,2026-01-01T00:00:00Z,3\n",
        /clash\.csv already has a column "score", the name of a requested feature/,
      ],
      [
        "no-entity.csv",
        "entity_id,timestamp\nu1,2026-01-01T00:00:00Z\n,2026-01-02T00:00:00Z\n",
        /no-entity\.csv row 2: the entity column "entity_id" is empty/,
      ],
      [
        "bad-time.csv",
        "entity_id,timestamp\nu1,soon\n",
        /bad-time\.csv row 1: "soon" in column "timestamp" is not a datetime/,
      ],
    ] as const;
    for (const [name, text, message] of cases) {
      const path = join(dir, name);
      writeFileSync(path, text);
      const args = { entities: path, features: ["score"] };
      await expect(fabra.getTrainingData(args), name).rejects.toThrow(message);
      await expect(getTrainingData({ definitions: fabra.definitions, offline: noFiles }, args), name).rejects.toThrow(
        message,
      );
    }
  });

  it("fails loudly on bad input, never with a partial result", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "entity_id,timestamp\nu1,2026-01-01T00:00:00Z\nu2,yesterday\n");
    await expect(fabra.getTrainingData({ entities: bad, features: ["score"] })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/bad\.csv row 2: "yesterday" in column "timestamp" is not a datetime/),
    });
    const empty = join(dir, "empty-ts.csv");
    writeFileSync(empty, "entity_id,timestamp\nu1,\n");
    await expect(fabra.getTrainingData({ entities: empty, features: ["score"] })).rejects.toThrow(
      /row 1: the timestamp column "timestamp" is empty/,
    );
    await expect(fabra.getTrainingData({ entities: bad, features: ["score"], entityColumn: "user" })).rejects.toThrow(
      /has no entity column "user" \(its columns: entity_id, timestamp\)/,
    );
    await expect(fabra.getTrainingData({ entities: join(dir, "nope.csv"), features: ["score"] })).rejects.toMatchObject(
      { code: "FILE_NOT_FOUND" },
    );
    await expect(fabra.getTrainingData({ entities: join(dir, "events.txt.bz2"), features: ["score"] })).rejects.toThrow(
      /Cannot tell the format/,
    );
    await expect(fabra.getTrainingData({ entities: [], features: ["scroe"] })).rejects.toMatchObject({
      code: "FEATURE_NOT_FOUND",
      hint: 'Did you mean "score"?',
    });
    await expect(
      fabra.getTrainingData({ entities: [{ entity_id: "u1", timestamp: "soon" }], features: ["score"] }),
    ).rejects.toThrow(/entities\[0\]\.timestamp/);
    await expect(fabra.getTrainingData({ entities: [{ entity_id: "u1" }], features: ["score"] })).rejects.toThrow(
      /entities\[0\]\.timestamp is undefined/,
    );
    await expect(
      fabra.getTrainingData({ entities: [{ entity_id: { id: 1 }, timestamp: "2026-01-01" }], features: ["score"] }),
    ).rejects.toThrow(/not an entity id/);
    await expect(
      fabra.getTrainingData({
        entities: [{ entity_id: "u1", timestamp: "2026-01-01", score: 1 }],
        features: ["score"],
      }),
    ).rejects.toThrow(/already has a column "score"/);
  });
});

// ---------------------------------------------------------------- property: no leakage, exact answers

describe("point-in-time property", () => {
  let store: OfflineStore;
  let n = 0;
  beforeAll(async () => {
    store = await openOfflineStore({ type: "duckdb", path: join(dir, "property.duckdb") });
  });
  afterAll(() => store.close());

  const base = Date.parse("2026-01-01T00:00:00Z");
  const instant = fc.integer({ min: 0, max: 12 }).map((s) => new Date(base + s * 1000).toISOString()); // few instants: many ties
  const historyRow = fc.record({
    entity: fc.constantFrom("a", "b", "c"),
    at: instant,
    run: fc.constantFrom("run_1", "run_2", "run_3", null),
    value: fc.integer(),
  });
  const event = fc.record({ entity: fc.constantFrom("a", "b", "c", "d"), at: instant });

  it("gives, for random histories and events, exactly the brute-force answer, and nothing computed after the event", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(historyRow, { maxLength: 40 }),
        fc.array(event, { minLength: 1, maxLength: 30 }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        async (history, events, maxAgeMs) => {
          const feature = `prop_${++n}`;
          // Several batches in random order, like interleaved writers and backfills.
          const rows = history.map((h, i) => ({
            feature,
            entityId: h.entity,
            valueJson: String(h.value),
            computedAt: T(h.at),
            runId: h.run === null ? null : `${h.run}_${i % 2}`,
          }));
          for (let i = 0; i < rows.length; i += 7) await store.writeValues(rows.slice(i, i + 7));
          const stored = new Map<string, { computedAt: string; runId: string; valueJson: string }>(); // first write of (entity, run) wins
          rows.forEach((r, i) => {
            const runKey = r.runId ?? `read:${i}`;
            const key = `${r.entityId}|${runKey}`;
            if (!stored.has(key)) stored.set(key, { computedAt: r.computedAt, runId: runKey, valueJson: r.valueJson });
          });
          const result = await store.pointInTime(
            { kind: "keys", entityIds: events.map((e) => e.entity), timestamps: events.map((e) => T(e.at)) },
            [maxAgeMs === undefined ? { name: feature } : { name: feature, maxAgeMs }],
            { includeComputedAt: true },
          );
          events.forEach((e, i) => {
            const at = toEpochMicros(T(e.at));
            const candidates = [...stored.entries()]
              .filter(([k, v]) => k.startsWith(`${e.entity}|`) && toEpochMicros(v.computedAt) <= at)
              .map(([, v]) => v)
              .sort((x, y) =>
                x.computedAt === y.computedAt
                  ? x.runId < y.runId
                    ? -1
                    : 1
                  : toEpochMicros(x.computedAt) < toEpochMicros(y.computedAt)
                    ? -1
                    : 1,
              );
            let best = candidates.at(-1);
            if (best && maxAgeMs !== undefined && toEpochMicros(best.computedAt) < at - BigInt(maxAgeMs) * 1000n)
              best = undefined;
            const computedAt = result.computedAt?.[0]?.[i] ?? null;
            // No leakage: a joined value was never computed after its event.
            if (computedAt !== null) expect(toEpochMicros(computedAt) <= at).toBe(true);
            if (best === undefined) {
              expect(result.values[0]?.[i]).toBeNull();
              expect(computedAt).toBeNull();
            } else if (!best.runId.startsWith("read:")) {
              expect([result.values[0]?.[i], computedAt]).toEqual([best.valueJson, best.computedAt]);
            } else {
              // Values computed on read get random run ids: only the instant is determined when such a value ties.
              expect(computedAt).toBe(best.computedAt);
            }
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
