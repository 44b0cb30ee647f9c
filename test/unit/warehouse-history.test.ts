// A feature whose history is a user-managed DuckDB table (history: { table, ... }): joined in place by training data
// and `getFeatureAsOf` (by event time and by known time), values typed by the column's SQL type, the option checked
// with "did you mean", a missing table / column / a non-time column an INVALID_DEFINITION at load naming it, and
// writes of its history refused. Also the store-side import on DuckDB: kinds of CSV cells (the SQL patterns and the
// cells decoded in JS), bad rows with their line across batches.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabra, entity, type FabraRuntime, feature } from "../../src/index.js";
import { tempDir } from "../helpers/temp.js";

const user = entity("user");
const table = (extra: Record<string, unknown> = {}) => ({
  table: "user_scores",
  entityColumn: "user_id",
  timestampColumn: "updated_at",
  valueColumn: "score",
  ...extra,
});

async function duckFile(dir: string, sql: string[]): Promise<string> {
  const path = join(dir, "wh.duckdb");
  const instance = await DuckDBInstance.create(path);
  const c = await instance.connect();
  for (const s of sql) await c.run(s);
  c.closeSync();
  instance.closeSync();
  return path;
}

const open = (path: string, defs: Record<string, unknown>) =>
  createFabra({ stores: { offline: { type: "duckdb", path } }, definitions: { user, ...defs }, warn: () => {} });

describe("warehouse history tables on DuckDB", () => {
  let fabra: FabraRuntime;
  beforeAll(async () => {
    const path = await duckFile(tempDir("fabra-wh-"), [
      "CREATE SCHEMA analytics",
      `CREATE TABLE analytics.user_scores (user_id VARCHAR, updated_at TIMESTAMPTZ, learned_at TIMESTAMP, score BIGINT,
         ratio DOUBLE, label VARCHAR, flags JSON, ok BOOLEAN, day DATE)`,
      `INSERT INTO analytics.user_scores VALUES
         ('u1', '2026-01-01T00:00:00Z', '2026-01-01 00:00:00', 1, 12.0, 'gold', '{"a": [1, 2.0], "big": 123456789012345678901}', true, '2026-01-01'),
         ('u1', '2026-01-10T00:00:00Z', '2026-03-01 00:00:00', 2, 0.5, 'silver', '[]', false, '2026-01-10'),
         ('u1', '2026-01-10T00:00:00Z', '2026-03-01 00:00:00', 3, 1e20, 'say "hi"', 'null', NULL, '2026-01-10'),
         ('u2', NULL, NULL, 9, NULL, NULL, NULL, NULL, NULL),
         (NULL, '2026-01-01T00:00:00Z', NULL, 9, NULL, NULL, NULL, NULL, NULL)`,
      "CREATE VIEW user_scores_v AS SELECT user_id AS uid, updated_at AS at, score FROM analytics.user_scores",
    ]);
    const h = (valueColumn: string) => ({
      table: "analytics.user_scores",
      entityColumn: "user_id",
      timestampColumn: "updated_at",
      valueColumn,
      knownTimeColumn: "learned_at",
    });
    fabra = await open(path, {
      score: feature({ entity: user, history: h("score") }, () => -1),
      ratio: feature({ entity: user, history: h("ratio") }, () => -1),
      label: feature({ entity: user, history: h("label") }, () => -1),
      flags: feature({ entity: user, history: h("flags") }, () => -1),
      ok: feature({ entity: user, history: h("ok") }, () => -1),
      day: feature({ entity: user, history: { ...h("day"), timestampColumn: "day" } }, () => -1),
      viewed: feature(
        {
          entity: user,
          history: { table: "user_scores_v", entityColumn: "uid", timestampColumn: "at", valueColumn: "score" },
        },
        () => -1,
      ),
    });
  });
  afterAll(() => fabra?.close());

  const events = [
    { entity_id: "u1", timestamp: "2025-12-31T00:00:00Z" },
    { entity_id: "u1", timestamp: "2026-01-05T00:00:00Z" },
    { entity_id: "u1", timestamp: "2026-01-10T00:00:00Z" },
    { entity_id: "u2", timestamp: "2026-01-10T00:00:00Z" },
  ];

  it("joins the table in place by event time (ties to the greater value text) and by known time", async () => {
    const byEvent = await fabra.getTrainingData({ entities: events, features: ["score", "viewed"] });
    expect(byEvent.map((r) => r.score)).toEqual([null, 1, 3, null]);
    expect(byEvent.map((r) => r.viewed)).toEqual([null, 1, 3, null]);
    const byKnown = await fabra.getTrainingData({ entities: events, features: ["score"], knownTime: true });
    expect(byKnown.map((r) => r.score)).toEqual([null, 1, 1, null]);
    // Nothing was copied into fabra's history.
    expect(await fabra.stores.offline.latest("score", "u1")).toBeNull();
  });

  it("types values by the column's SQL type", async () => {
    const rows = await fabra.getTrainingData({
      entities: [{ entity_id: "u1", timestamp: "2026-01-05T00:00:00Z" }],
      features: ["ratio", "label", "flags", "ok", "day"],
    });
    expect(rows[0]).toMatchObject({
      ratio: 12,
      label: "gold",
      flags: { a: [1, 2], big: 123456789012345678901n },
      ok: true,
      day: "2026-01-01",
    });
    const later = await fabra.getTrainingData({
      entities: [{ entity_id: "u1", timestamp: "2026-01-11T00:00:00Z" }],
      features: ["ratio", "label", "ok"],
    });
    // Ties at (event time, known time) go to the greater value text: "1e+20" > "0.5", "silver" > "say \"hi\"",
    // null > false.
    expect(later[0]).toMatchObject({ ratio: 1e20, label: "silver", ok: null });
  });

  it("features get --as-of reads the table and says how it joined", async () => {
    const v = await fabra.getFeatureAsOf("score", "u1", "2026-01-20T00:00:00Z");
    expect(v).toMatchObject({ value: 3, source: "history", asOf: "2026-01-10T00:00:00Z", joinedBy: "event_time" });
    const k = await fabra.getFeatureAsOf("score", "u1", "2026-01-20T00:00:00Z", { knownTime: true });
    expect(k).toMatchObject({ value: 1, asOf: "2026-01-01T00:00:00Z", joinedBy: "known_time" });
    await expect(fabra.getFeatureAsOf("score", "u2", "2026-01-20T00:00:00Z")).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("refuses to write such a feature's history (import, push)", async () => {
    const dir = tempDir("fabra-wh-import-");
    const file = join(dir, "h.csv");
    writeFileSync(file, "entity_id,timestamp,value\nu1,2026-01-01T00:00:00Z,1\n");
    await expect(fabra.importHistory({ feature: "score", file })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/analytics\.user_scores/),
    });
    await expect(fabra.pushFeatureValues([{ feature: "score", entityId: "u1", value: 1 }])).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});

describe("warehouse history tables: checks at load", () => {
  let path: string;
  beforeAll(async () => {
    path = await duckFile(tempDir("fabra-wh-check-"), [
      "CREATE TABLE user_scores (user_id VARCHAR, updated_at TIMESTAMP, score BIGINT, note VARCHAR)",
    ]);
  });
  const load = (history: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    open(path, { score: feature({ entity: user, history, ...extra } as never, () => 0) });

  it("a missing table, column or a non-time column is INVALID_DEFINITION naming it, with what there is", async () => {
    await expect(load(table({ table: "user_score" }))).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/history table "user_score" does not exist/),
      hint: expect.stringMatching(/Did you mean "user_scores"\?.*user_scores/),
    });
    await expect(load(table({ valueColumn: "scor" }))).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/has no column "scor"/),
      hint: expect.stringMatching(/Did you mean "score"\?.*user_id, updated_at, score, note/),
    });
    await expect(load(table({ timestampColumn: "note" }))).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/"note" .* is VARCHAR, not a timestamp/),
    });
  });

  it("the option is checked: typos get did-you-mean, names must be plain identifiers, no materialize", async () => {
    await expect(load({ ...table(), valueColum: "score" })).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/`history` has no option `valueColum`/),
      hint: expect.stringMatching(/Did you mean "valueColumn"\?/),
    });
    await expect(load(table({ table: 'user_scores"; DROP TABLE x; --' }))).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/not a plain SQL table name/),
    });
    await expect(load(table({ valueColumn: "a b" }))).rejects.toMatchObject({
      message: expect.stringMatching(/`history.valueColumn` is "a b", not a plain SQL column name/),
    });
    await expect(load({ table: "user_scores" })).rejects.toMatchObject({
      message: expect.stringMatching(/`history.entityColumn` is missing/),
    });
    await expect(load(table(), { materialize: true, entities: ["u1"] })).rejects.toMatchObject({
      message: expect.stringMatching(/materialize: true writes fabra's own history/),
    });
    const ok = await load(table());
    await ok.close();
  });
});

describe("features import on DuckDB, store-side", () => {
  let fabra: FabraRuntime;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir("fabra-import-sql-");
    fabra = await open(join(dir, "f.duckdb"), { score: feature({ entity: user }, () => 0) });
  });
  afterAll(() => fabra?.close());

  it("keeps the kind of every CSV cell, exactly as the JS reader decodes it", async () => {
    const cells = [
      "12",
      "-7",
      "12.0",
      "0.125",
      "true",
      "null",
      "1234567890123456789012",
      "1e3",
      '"[1, 2.5, {""a"": null}]"',
      '"{""x"": ""y""}"',
      '"""quoted"""',
      " 12",
      "plain text",
      "",
      '"a,b"',
    ];
    const file = join(dir, "kinds.csv");
    writeFileSync(
      file,
      `entity_id,timestamp,value\n${cells.map((c, i) => `k${i},2026-01-01T00:00:00Z,${c}`).join("\n")}\n`,
    );
    const summary = await fabra.importHistory({ feature: "score", file });
    expect(summary).toMatchObject({ rows: cells.length, failedBatches: 1 });
    // The empty cell has no value: its line is reported, its batch (the whole file here) is not written.
    expect(summary.badRows).toEqual([{ line: 15, error: 'no value in column "value"' }]);
    writeFileSync(
      file,
      `entity_id,timestamp,value\n${cells
        .filter((c) => c !== "")
        .map((c, i) => `k${i},2026-01-01T00:00:00Z,${c}`)
        .join("\n")}\n`,
    );
    expect((await fabra.importHistory({ feature: "score", file })).badRows).toEqual([]);
    const got = await Promise.all(
      cells.slice(0, -2).map(async (_, i) => (await fabra.stores.offline.latest("score", `k${i}`))?.valueJson),
    );
    expect(got).toEqual([
      "12",
      "-7",
      "12.0",
      "0.125",
      "true",
      "null",
      "1234567890123456789012",
      "1000.0",
      '[1,2.5,{"a":null}]',
      '{"x":"y"}',
      '"quoted"',
      "12",
      '"plain text"',
    ]);
  });

  it("reports bad rows with their line across batches, and writes every other batch; again adds nothing", async () => {
    const lines = ["entity_id,timestamp,value"];
    for (let i = 0; i < 2500; i++) {
      const time = i === 1234 ? "yesterday" : new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
      lines.push(`${i === 2100 ? "" : `b${i % 50}`},${time},${i}`);
    }
    const file = join(dir, "bad.csv");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const progress: number[] = [];
    const summary = await fabra.importHistory({
      feature: "score",
      file,
      batchSize: 1000,
      onProgress: (d) => progress.push(d),
    });
    expect(summary.badRows).toEqual([
      { line: 1236, error: 'event time "yesterday" is not an ISO-8601 datetime (e.g. 2026-03-01T09:00:00Z)' },
      { line: 2102, error: 'no entity id in column "entity_id"' },
    ]);
    expect(summary).toMatchObject({ rows: 2500, batches: 3, failedBatches: 2, written: 1000 });
    expect(progress).toEqual([1000, 2000, 2500]);
    const count = async () =>
      Number(
        (
          (await (fabra.stores.offline as unknown as { db: { query(s: string): Promise<{ n: bigint }[]> } }).db.query(
            "SELECT count(*) AS n FROM fabra_feature_values WHERE entity_id LIKE 'b%'",
          )) as { n: bigint }[]
        )[0]?.n,
      );
    expect(await count()).toBe(1000);
    await fabra.importHistory({ feature: "score", file, batchSize: 1000 });
    expect(await count()).toBe(1000);
    // The rows are the first 1000 lines, in line order (run ids by line).
    expect((await fabra.stores.offline.latest("score", "b7"))?.valueJson).toBe("957");
  });
});
