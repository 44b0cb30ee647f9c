// "import-pg": rows/s of `importHistory` into history on Postgres (a CSV of (entity, event time, value), 10,000-row
// transactions: the file staged and checked in an in-memory DuckDB, each batch sent with COPY ... FROM STDIN) vs the
// raw bulk load of the same file in the same run: psql's `\copy` (client-side COPY, the fastest load there is) into
// a table of history's shape: `LIKE fabra_feature_values INCLUDING ALL` (same columns, collations, primary key and
// both indexes), the columns the file lacks filled by defaults (feature; a run id as wide as an import's; known time
// now()). After one untimed warm-up of each, rounds alternate which goes first; each round imports a new file.
// Shared with import.bench.js: fixtures.js (files, result), lib.js (alternateRounds).
// Run alone: node bench/import-pg.bench.js [--quick]      (needs `npm run build` and the Postgres of the tests)
import { execFileSync } from "node:child_process";
import pg from "pg";
import { createFabra } from "../dist/index.js";
import { applyMigrations } from "../dist/stores/postgres/migrate.js";
import { PgDatabase } from "../dist/stores/postgres/pool.js";
import { importResult, importScores, rawRunPrefix, scoreDefinitions, writeHistoryCsv } from "./fixtures.js";
import { alternateRounds, runIfMain, tempDir } from "./lib.js";
import { dropSchema, POSTGRES_URL, uniqueName } from "./prod-services.js";

const WARM_UP_ROWS = 1000;

export default async function run(options = {}) {
  const log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
  const rows = options.quick === true ? 20_000 : 200_000;
  const rounds = 3;
  const dir = tempDir("fabra-bench-import-pg-");
  const schema = uniqueName();
  const admin = await PgDatabase.open({ url: POSTGRES_URL, schema, service: "stores.offline" });
  await applyMigrations(admin);
  await admin.close();
  const fabra = await createFabra({
    definitions: scoreDefinitions(),
    stores: { offline: { type: "postgres", url: POSTGRES_URL, schema } },
    warn: log,
  });
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const q = (name) => `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
    const raw = q("raw_values");
    await client.query(`CREATE SEQUENCE ${q("raw_seq")}`);
    await client.query(`CREATE TABLE ${raw} (LIKE ${q("fabra_feature_values")} INCLUDING ALL)`);
    await client.query(`ALTER TABLE ${raw} ALTER COLUMN feature SET DEFAULT 'score',
      ALTER COLUMN run_id SET DEFAULT ${pg.escapeLiteral(rawRunPrefix(0))} || lpad(nextval(${pg.escapeLiteral(q("raw_seq"))})::text, 12, '0'),
      ALTER COLUMN known_at SET DEFAULT now()`);
    const copy = (path) => {
      execFileSync(
        "psql",
        [
          POSTGRES_URL,
          "-v",
          "ON_ERROR_STOP=1",
          "-qc",
          `\\copy ${raw} (entity_id, computed_at, value_json) FROM '${path}' CSV HEADER`,
        ],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
    };
    const warm = writeHistoryCsv(dir.path, WARM_UP_ROWS, -1);
    await importScores(fabra, warm, WARM_UP_ROWS);
    copy(warm);
    const [fabraMs, rawMs] = await alternateRounds(
      rounds,
      (r) => writeHistoryCsv(dir.path, rows, r),
      [(path) => importScores(fabra, path, rows), copy],
      (m) => log(`import-pg: ${m}`),
    );
    const stored = await client.query(
      `SELECT count(*)::int AS n FROM ${q("fabra_feature_values")} WHERE feature = 'score'`,
    );
    if (stored.rows[0].n !== rows * rounds + WARM_UP_ROWS) throw new Error(`history has ${stored.rows[0].n} rows`);
    return importResult({
      name: "import-pg",
      description: `importHistory of a ${rows.toLocaleString()}-row CSV into history on Postgres, vs COPY (psql \\copy) of the same file into a table of the same shape`,
      rows,
      fabraMs,
      rawMs,
    });
  } finally {
    await client.end();
    await fabra.close();
    await dropSchema(POSTGRES_URL, schema);
    dir.cleanup();
  }
}

runIfMain(import.meta.url, run);
