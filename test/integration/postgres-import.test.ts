// importHistory on Postgres (stores/postgres/offline-import.ts: COPY ... FROM STDIN of text DuckDB builds): every
// byte of ids and values survives COPY's escaping (tabs, newlines, carriage returns, backslashes, `\N`, quotes,
// non-ASCII), stored exactly as the DuckDB store stores the same file; a batch Postgres refuses half-way writes
// nothing of itself and the error names its lines and the row; the import run again completes it with each row
// once; two imports of one file at once store each row once.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabra, entity, type FabraRuntime, feature } from "../../src/index.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempDir } from "../helpers/temp.js";

const pgUp = await postgresUp();
const user = entity("user");
const definitions = {
  user,
  score: feature({ entity: user }, () => 0),
  label: feature({ entity: user }, () => ""),
  checked: feature({ entity: user }, () => 0),
};

interface StoredRow {
  entity_id: string;
  value_json: string;
  computed: string;
  known: string;
  run_id: string;
}

/** A CSV field, quoted (so it may hold commas, quotes, tabs and newlines). */
const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

describe.skipIf(!pgUp)("importHistory on Postgres (COPY)", () => {
  let schema: TestSchema;
  let fabra: FabraRuntime;
  let client: pg.Client;
  let dir: string;
  const table = () => `${pg.escapeIdentifier(schema.target.schema)}.fabra_feature_values`;

  beforeAll(async () => {
    dir = tempDir("fabra-pg-import-");
    schema = await migratedSchema(POSTGRES_URL);
    fabra = await createFabra({
      stores: { offline: { type: "postgres", url: POSTGRES_URL, schema: schema.target.schema } },
      definitions,
      warn: () => {},
    });
    client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
  }, 30_000);
  afterAll(async () => {
    await client?.end();
    await fabra?.close();
    await schema?.drop();
  });

  async function pgRows(feature: string): Promise<StoredRow[]> {
    const rows = await client.query<StoredRow>(
      `SELECT entity_id, value_json, to_char(computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS computed,
         to_char(known_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS known, run_id
       FROM ${table()} WHERE feature = $1 ORDER BY run_id`,
      [feature],
    );
    return rows.rows;
  }

  it("stores ids and values byte for byte as the DuckDB store does (CSV and Parquet)", async () => {
    const cells: [string, string][] = [
      ["tab\there", "x\\y"],
      ["back\\slash", "\\N"],
      ["new\nline", "line1\nline2"],
      ["cr\rid", "a\r\nb"],
      ["ünï 😀", '{"k":"v\\tw","n":[1,2.5]}'],
      ['quote"d', '[1,"a,b",null]'],
      ["plain", "12"],
      ["plain", "12.5"],
      ["plain", "true"],
      ["plain", 'say "hi"'],
      ["\\.", "\\."],
    ];
    const csv = ["entity_id,timestamp,value,known_at"];
    cells.forEach(([e, v], i) => {
      csv.push(`${q(e)},2025-01-01T00:00:0${i % 10}.123456Z,${q(v)},2025-02-01T00:00:00Z`);
    });
    const csvPath = join(dir, "odd.csv");
    writeFileSync(csvPath, `${csv.join("\n")}\n`);
    const instance = await DuckDBInstance.create(":memory:");
    const c = await instance.connect();
    const parquetPath = join(dir, "odd.parquet");
    try {
      await c.run(
        `COPY (SELECT * FROM (VALUES ('p\tq', TIMESTAMP '2025-01-03 00:00:00', {'a': 'x\ty\\z', 'b': [1, 2]}, TIMESTAMP '2025-02-01 00:00:00'),
           ('p\nr', TIMESTAMP '2025-01-03 00:00:01', {'a': '\\N', 'b': []}, TIMESTAMP '2025-02-01 00:00:00'))
           AS t(entity_id, timestamp, value, known_at)) TO '${parquetPath}' (FORMAT parquet)`,
      );
    } finally {
      c.closeSync();
      instance.closeSync();
    }
    const duck = await createFabra({
      stores: { offline: { type: "duckdb", path: join(dir, "compare.duckdb") } },
      definitions,
      warn: () => {},
    });
    try {
      for (const [feature, file] of [
        ["label", csvPath],
        ["score", parquetPath],
      ] as const) {
        const options = { feature, file, knownTimeColumn: "known_at" };
        const got = await fabra.importHistory(options);
        expect(got).toMatchObject({ written: got.rows, badRows: [] });
        await duck.importHistory(options);
        const want = await (
          duck.stores.offline as unknown as { db: { query<T>(sql: string): Promise<T[]> } }
        ).db.query<StoredRow>(
          `SELECT entity_id, value_json, strftime(computed_at, '%Y-%m-%dT%H:%M:%S.%f') AS computed,
             strftime(known_at, '%Y-%m-%dT%H:%M:%S.%f') AS known, run_id
           FROM fabra_feature_values WHERE feature = '${feature}' ORDER BY run_id`,
        );
        expect(want).toHaveLength(got.rows);
        expect(await pgRows(feature)).toEqual(want);
      }
      // The cells the COPY text had to escape came back as they were written.
      const labels = await fabra.getTrainingData({
        entities: cells.map(([e]) => ({ entity_id: e, timestamp: "2025-03-01T00:00:00Z" })),
        features: ["label"],
      });
      expect(labels.map((r) => r.entity_id)).toEqual(cells.map(([e]) => e));
      expect(labels[1]?.label).toBe("\\N");
      expect(labels[4]?.label).toEqual({ k: "v\tw", n: [1, 2.5] });
    } finally {
      await duck.close();
    }
  }, 60_000);

  it("a batch Postgres refuses half-way writes nothing of itself; run again, the import completes, each row once", async () => {
    const rows = 40;
    const lines = ["entity_id,timestamp,value"];
    for (let i = 0; i < rows; i++)
      lines.push(`${i === 14 ? "poison" : `h${i}`},2025-01-01T00:00:${String(i).padStart(2, "0")}Z,${i}`);
    const path = join(dir, "poison.csv");
    writeFileSync(path, `${lines.join("\n")}\n`);
    // A constraint of the user's that the staged checks cannot know: row 15 (line 16) is refused by Postgres.
    await client.query(`ALTER TABLE ${table()} ADD CONSTRAINT no_poison CHECK (entity_id <> 'poison')`);
    try {
      const failed = fabra.importHistory({ feature: "checked", file: path, batchSize: 10 });
      await expect(failed).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
        message: expect.stringMatching(/batch of lines 12-21 of .*poison\.csv at line 16: .*no_poison/),
        hint: expect.stringContaining("import the file again"),
      });
    } finally {
      await client.query(`ALTER TABLE ${table()} DROP CONSTRAINT no_poison`);
    }
    const lineOf = (r: StoredRow) => Number(r.run_id.slice(r.run_id.lastIndexOf(":") + 1));
    // Rows stored per batch of 10 (lines 2-11, 12-21, 22-31, 32-41).
    const batchSizes = (stored: StoredRow[]) =>
      [0, 1, 2, 3].map((b) => stored.filter((r) => Math.floor((lineOf(r) - 2) / 10) === b).length);
    const partial = batchSizes(await pgRows("checked"));
    expect(partial[0]).toBe(10); // the batch before it is written
    expect(partial[1]).toBe(0); // nothing of the refused batch
    for (const n of partial.slice(2)) expect([0, 10]).toContain(n); // a batch is all or nothing
    const progress: [number, number][] = [];
    const again = await fabra.importHistory({
      feature: "checked",
      file: path,
      batchSize: 10,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(again).toMatchObject({ rows, written: rows, failedBatches: 0 });
    // Progress after each batch (two are written at once: they may end in either order, the count only grows).
    expect(progress).toEqual([10, 20, 30, 40].map((n) => [n, rows]));
    const stored = await pgRows("checked");
    expect(batchSizes(stored)).toEqual([10, 10, 10, 10]);
    expect(new Set(stored.map((r) => r.entity_id)).size).toBe(rows);
  }, 60_000);

  it("two imports of one file at once store each row once", async () => {
    const rows = 3000;
    const lines = ["entity_id,timestamp,value"];
    for (let i = 0; i < rows; i++)
      lines.push(
        `c${i % 50},2025-01-01T00:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}Z,${i}`,
      );
    const path = join(dir, "race.csv");
    writeFileSync(path, `${lines.join("\n")}\n`);
    const options = { feature: "label", file: path, batchSize: 500 };
    const [a, b] = await Promise.all([fabra.importHistory(options), fabra.importHistory(options)]);
    expect(a).toMatchObject({ rows, written: rows });
    expect(b).toMatchObject({ rows, written: rows });
    const counted = await client.query<{ n: number; runs: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT run_id)::int AS runs FROM ${table()} WHERE feature = 'label' AND run_id LIKE $1`,
      [`${a.runPrefix}:%`],
    );
    expect(counted.rows[0]).toEqual({ n: rows, runs: rows });
  }, 60_000);
});
