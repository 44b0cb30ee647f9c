// "import-pg": rows/s of `importHistory` into history on Postgres (a CSV of (entity, event time, value), 10,000-row
// transactions: the file read by an in-memory DuckDB, rows sent as multi-row INSERTs of unnest()ed arrays, ON
// CONFLICT DO NOTHING) vs the raw bulk load of the same file in the same run: COPY ... FROM the CSV (psql's \copy,
// client-side, the fastest load there is) into an identical table (same primary key; feature, run id and known time
// filled by column defaults). pg-copy-streams is not installed, so fabra cannot send COPY itself. Each round imports
// a new file (fresh run ids).
// Run alone: node bench/import-pg.bench.js [--quick]      (needs `npm run build` and the Postgres of the tests)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createFabra, entity, feature } from "../dist/index.js";
import { applyMigrations } from "../dist/stores/postgres/migrate.js";
import { PgDatabase } from "../dist/stores/postgres/pool.js";
import { median, runIfMain } from "./lib.js";
import { dropSchema, POSTGRES_URL, uniqueName } from "./prod-services.js";

export default async function run(options = {}) {
  const log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
  const quick = options.quick === true;
  const rows = quick ? 20_000 : 200_000;
  const dir = mkdtempSync(join(tmpdir(), "fabra-bench-import-pg-"));
  const schema = uniqueName();
  const target = { url: POSTGRES_URL, schema, poolSize: 4, service: "stores.offline" };
  const admin = await PgDatabase.open(target);
  await applyMigrations(admin);
  await admin.close();
  const user = entity("user");
  const score = feature({ entity: user }, () => 0);
  const fabra = await createFabra({
    definitions: { user, score },
    stores: { offline: { type: "postgres", url: POSTGRES_URL, schema } },
    warn: log,
  });
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  const base = Date.UTC(2025, 0, 1);
  const writeFile = (round) => {
    const lines = ["entity_id,timestamp,value"];
    for (let i = 0; i < rows; i++)
      lines.push(`user_${i % 5000},${new Date(base + i * 1000 + round).toISOString()},${(i % 997) + 0.5}`);
    const path = join(dir, `history-${round}.csv`);
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  };
  try {
    const raw = `${pg.escapeIdentifier(schema)}.raw_values`;
    await client.query(`CREATE SEQUENCE ${pg.escapeIdentifier(schema)}.raw_seq`);
    await client.query(`CREATE TABLE ${raw} (feature text NOT NULL DEFAULT 'score', entity_id text NOT NULL,
      value_json text NOT NULL, computed_at timestamptz NOT NULL,
      run_id text NOT NULL DEFAULT 'raw:' || nextval('${schema}.raw_seq'), known_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (feature, entity_id, run_id))`);
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
    const mine = async (path) => {
      const summary = await fabra.importHistory({ feature: "score", file: path });
      if (summary.written !== rows || summary.badRows.length > 0) throw new Error(`import: ${JSON.stringify(summary)}`);
    };
    const rounds = quick ? 2 : 3;
    const fabraMs = [];
    const rawMs = [];
    for (let r = 0; r < rounds; r++) {
      log(`import-pg: round ${r + 1}/${rounds}`);
      const path = writeFile(r);
      const order =
        r % 2 === 0
          ? [
              [() => mine(path), fabraMs],
              [async () => copy(path), rawMs],
            ]
          : [
              [async () => copy(path), rawMs],
              [() => mine(path), fabraMs],
            ];
      for (const [fn, into] of order) {
        globalThis.gc?.();
        const start = performance.now();
        await fn();
        into.push(performance.now() - start);
      }
    }
    const stored = await client.query(
      `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema)}.fabra_feature_values WHERE feature = 'score'`,
    );
    if (stored.rows[0].n !== rows * rounds) throw new Error(`history has ${stored.rows[0].n} rows`);
    const fabraRate = (rows * 1000) / median(fabraMs);
    const rawRate = (rows * 1000) / median(rawMs);
    const ratio = fabraRate / rawRate;
    return {
      name: "import-pg",
      description: `importHistory of a ${rows.toLocaleString()}-row CSV into history on Postgres, vs COPY (psql \\copy) of the same file`,
      metrics: {
        rows,
        fabraRowsPerSecond: Math.round(fabraRate),
        rawRowsPerSecond: Math.round(rawRate),
        fabraMedianMs: Math.round(median(fabraMs)),
        rawMedianMs: Math.round(median(rawMs)),
        rounds,
      },
      ratio: Math.round(ratio * 1000) / 1000,
      target: ">= 0.5",
      pass: ratio >= 0.5,
    };
  } finally {
    await client.end();
    await fabra.close();
    await dropSchema(POSTGRES_URL, schema);
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
