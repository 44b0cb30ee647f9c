// The oracle of "bring your own history" (issue 15), on DuckDB and Postgres: fast-check (seeded) builds random
// histories — few instants (ties), values before and after each event, gaps, late backfills known long after their
// event time, many entities, mixed kinds — loads them through importHistory (the path `fabra features import` takes:
// a CSV with a known-time column, and a second file without one, known at the import's time) and into a
// user-managed table read by a `history: { table }` feature; then every training row, and `getFeatureAsOf`, is
// checked against a brute-force as-of join in JS, by event time and by known time. Importing a file again adds
// nothing.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabra, entity, type FabraRuntime, feature } from "../../src/index.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempDir } from "../helpers/temp.js";

const BASE = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

type Value = number | string | boolean;
interface Row {
  entity: string;
  t: number;
  known: number;
  value: Value;
  /** Order among equal (t, known): the file's line for imports, the value's text for a table. */
  tie: string;
}
interface Event {
  entity: string;
  t: number;
}

/** Greatest event time <= T (and by known time: known <= T), then greatest known time, then the tie order. */
function asOf(rows: Row[], entity: string, t: number, knownTime: boolean): Row | null {
  let best: Row | null = null;
  for (const r of rows) {
    if (r.entity !== entity || r.t > t || (knownTime && r.known > t)) continue;
    if (
      best === null ||
      r.t > best.t ||
      (r.t === best.t && (r.known > best.known || (r.known === best.known && r.tie > best.tie)))
    )
      best = r;
  }
  return best;
}

const cell = (v: Value) => (typeof v === "string" ? `"${v.replace(/"/g, '""')}"` : String(v));

const valueArb = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: -4000, max: 4000 }).map((n) => n / 8 + 0.125), // floats that are never whole
  fc.constantFrom("gold", "silver", "a,b", 'say "hi"', "ünï"),
  fc.boolean(),
);
const rowArb = fc.record({
  entity: fc.integer({ min: 0, max: 5 }),
  slot: fc.integer({ min: 0, max: 12 }), // few instants: many ties
  late: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 20 })), // a late backfill, known hours later
  value: valueArb,
});
const eventArb = fc.record({
  entity: fc.integer({ min: 0, max: 6 }), // 6: an entity without history
  slot: fc.integer({ min: -2, max: 34 }),
  shift: fc.constantFrom(0, 0, 1, 30 * 60_000), // exactly at a value's time, or just after
});
const caseArb = fc.record({
  known: fc.array(rowArb, { minLength: 1, maxLength: 60 }),
  unknown: fc.array(rowArb, { maxLength: 20 }),
  table: fc.array(
    rowArb.map((r) => ({ ...r, value: typeof r.value === "number" ? Math.trunc(r.value) : 7 })),
    { maxLength: 60 },
  ),
  events: fc.array(eventArb, { minLength: 1, maxLength: 60 }),
});

interface BackendEnv {
  /** stores.offline of the config; the history table is already there (it is checked when fabra loads). */
  offline: Record<string, unknown>;
  /** Runs SQL where the history table is (after bind). */
  exec(sql: string): Promise<void>;
  bind(fabra: FabraRuntime): void;
  done(): Promise<void>;
}
interface Backend {
  name: string;
  setup(dir: string): Promise<BackendEnv>;
}
type Runner = { run(sql: string): Promise<unknown> };

const duckdb: Backend = {
  name: "duckdb",
  setup: async (dir) => {
    const path = join(dir, "oracle.duckdb");
    // The table exists before fabra opens the file: a feature's history table is checked at load.
    const instance = await DuckDBInstance.create(path);
    const c = await instance.connect();
    await c.run(
      "CREATE TABLE user_scores (user_id VARCHAR, updated_at TIMESTAMPTZ, learned_at TIMESTAMPTZ, score BIGINT)",
    );
    c.closeSync();
    instance.closeSync();
    let fabraDb: Runner | null = null;
    return {
      offline: { type: "duckdb", path },
      exec: async (sql) => {
        await (fabraDb as Runner).run(sql);
      },
      bind: (f) => {
        fabraDb = (f.stores.offline as unknown as { db: Runner }).db;
      },
      done: async () => undefined,
    };
  },
};

let schema: TestSchema | undefined;
const postgres: Backend = {
  name: "postgres",
  setup: async () => {
    schema = await migratedSchema(POSTGRES_URL);
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    const s = pg.escapeIdentifier(schema.target.schema);
    await client.query(
      `CREATE TABLE ${s}.user_scores (user_id text, updated_at timestamptz, learned_at timestamptz, score bigint)`,
    );
    return {
      offline: { type: "postgres", url: POSTGRES_URL, schema: schema.target.schema },
      exec: async (sql: string) => {
        await client.query(`SET search_path TO ${s}; ${sql}`);
      },
      bind: () => undefined,
      done: async () => {
        await client.end();
        await schema?.drop();
      },
    };
  },
};

const pgUp = await postgresUp();

for (const backend of [duckdb, ...(pgUp ? [postgres] : [])]) {
  describe(`history oracle: ${backend.name}`, () => {
    let fabra: FabraRuntime;
    let env: BackendEnv;
    let dir: string;
    beforeAll(async () => {
      dir = tempDir("fabra-oracle-");
      env = await backend.setup(dir);
      const user = entity("user");
      const score = feature({ entity: user }, () => 0);
      const stored = feature(
        {
          entity: user,
          history: {
            table: "user_scores",
            entityColumn: "user_id",
            timestampColumn: "updated_at",
            valueColumn: "score",
            knownTimeColumn: "learned_at",
          },
        },
        () => 0,
      );
      fabra = await createFabra({
        stores: { offline: env.offline as never },
        definitions: { user, score, stored },
        warn: () => {},
      });
      env.bind(fabra);
    }, 30_000);
    afterAll(async () => {
      await fabra?.close();
      await env?.done();
    });

    it("every training row equals a brute-force as-of join, by event time and by known time (imports and a table)", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          run++;
          const id = (n: number) => `r${run}_u${n}`;
          // A file with known times (line = its order among ties), and one without (known at the import's time).
          const known: Row[] = c.known.map((r, i) => ({
            entity: id(r.entity),
            t: BASE + r.slot * HOUR,
            known: BASE + (r.slot + r.late) * HOUR,
            value: r.value,
            tie: `a${String(i + 2).padStart(6, "0")}`,
          }));
          const fileA = join(dir, `known-${run}.csv`);
          writeFileSync(
            fileA,
            `entity_id,timestamp,value,known_at\n${known.map((r) => `${r.entity},${iso(r.t)},${cell(r.value)},${iso(r.known)}`).join("\n")}\n`,
          );
          const first = await fabra.importHistory({ feature: "score", file: fileA, knownTimeColumn: "known_at" });
          expect(first).toMatchObject({ rows: known.length, written: known.length, failedBatches: 0 });
          const importedAt = Date.now();
          const fileB = join(dir, `unknown-${run}.csv`);
          const unknown: Row[] = c.unknown.map((r, i) => ({
            entity: id(r.entity),
            t: BASE + r.slot * HOUR,
            known: Number.POSITIVE_INFINITY, // known at the import's time: after every event here
            value: r.value,
            tie: `b${String(i + 2).padStart(6, "0")}`,
          }));
          if (unknown.length > 0) {
            writeFileSync(
              fileB,
              `entity_id,timestamp,value\n${unknown.map((r) => `${r.entity},${iso(r.t)},${cell(r.value)}`).join("\n")}\n`,
            );
            await fabra.importHistory({ feature: "score", file: fileB, batchSize: 7 });
          }
          // The same file again adds nothing (same run ids).
          expect((await fabra.importHistory({ feature: "score", file: fileA, knownTimeColumn: "known_at" })).rows).toBe(
            known.length,
          );
          expect(importedAt).toBeGreaterThan(BASE + 60 * HOUR);
          // Between files, equal (t, known) pairs cannot meet: B's known time is "now".
          const imported = [...known, ...unknown];

          const table: Row[] = c.table.map((r) => ({
            entity: id(r.entity),
            t: BASE + r.slot * HOUR,
            known: BASE + (r.slot + r.late) * HOUR,
            value: r.value,
            tie: String(r.value),
          }));
          if (table.length > 0)
            await env.exec(
              `INSERT INTO user_scores VALUES ${table.map((r) => `('${r.entity}', '${iso(r.t)}', '${iso(r.known)}', ${r.value})`).join(", ")}`,
            );

          const events: Event[] = c.events.map((e) => ({ entity: id(e.entity), t: BASE + e.slot * HOUR + e.shift }));
          const rows = events.map((e) => ({ entity_id: e.entity, timestamp: iso(e.t) }));
          for (const knownTime of [false, true]) {
            const got = await fabra.getTrainingData({ entities: rows, features: ["score", "stored"], knownTime });
            events.forEach((e, i) => {
              const want = asOf(imported, e.entity, e.t, knownTime)?.value ?? null;
              const wantTable = asOf(table, e.entity, e.t, knownTime)?.value ?? null;
              const where = `run ${run}, event ${i} (${e.entity} at ${iso(e.t)}), knownTime ${knownTime}`;
              expect(got[i]?.score, where).toEqual(want);
              expect(got[i]?.stored, where).toEqual(wantTable);
            });
            // features get --as-of reads the same join.
            const e = events[0] as Event;
            const want = asOf(imported, e.entity, e.t, knownTime);
            const read = fabra.getFeatureAsOf("score", e.entity, iso(e.t), { knownTime });
            if (want === null) await expect(read).rejects.toMatchObject({ code: "NOT_FOUND" });
            else {
              const v = await read;
              expect(v).toMatchObject({ value: want.value, joinedBy: knownTime ? "known_time" : "event_time" });
              expect(Date.parse(v.asOf)).toBe(want.t);
            }
          }
        }),
        { seed: 20261204, numRuns: 12, endOnFailure: true },
      );
    }, 30_000);
  });
}
