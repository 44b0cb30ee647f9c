// "import": rows/s of `importHistory` (a CSV of (entity, event time, value) into history on a DuckDB file, 10,000-row
// transactions) vs the raw bulk load of the same file in the same run: one INSERT ... SELECT FROM read_csv(...) into
// a table of history's shape (same columns and primary key, run ids as wide as an import's), DuckDB's own fastest
// path. After one untimed warm-up of each, rounds alternate which goes first; each round imports a new file (fresh
// run ids). Shared with import-pg.bench.js: fixtures.js (files, result), lib.js (alternateRounds).
// Run alone: node bench/import.bench.js [--quick]      (needs `npm run build` first)
import { createFabra } from "../dist/index.js";
import { importResult, importScores, rawRunPrefix, scoreDefinitions, writeHistoryCsv } from "./fixtures.js";
import { alternateRounds, runIfMain, tempDir } from "./lib.js";

const WARM_UP_ROWS = 1000;

export default async function run(options = {}) {
  const log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
  const rows = options.quick === true ? 20_000 : 200_000;
  const rounds = 3;
  const dir = tempDir("fabra-bench-import-");
  const fabra = await createFabra({
    definitions: scoreDefinitions(),
    stores: { offline: { type: "duckdb", path: `${dir.path}/import.duckdb` } },
    warn: log,
  });
  try {
    const db = fabra.stores.offline.db;
    await db.run(`CREATE TABLE raw_values (feature VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, value_json VARCHAR NOT NULL,
                  computed_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL, known_at TIMESTAMP NOT NULL, PRIMARY KEY (feature, entity_id, run_id))`);
    const raw = async (path, round) => {
      await db.run(
        `INSERT INTO raw_values SELECT 'score', entity_id, CAST(value AS VARCHAR), CAST(timestamp AS TIMESTAMP),
           $2 || lpad(CAST(row_number() OVER () AS VARCHAR), 12, '0'), now()::TIMESTAMP FROM read_csv($1, header = true)`,
        [path, rawRunPrefix(round)],
      );
    };
    const warm = writeHistoryCsv(dir.path, WARM_UP_ROWS, -1);
    await importScores(fabra, warm, WARM_UP_ROWS);
    await raw(warm, -1);
    const [fabraMs, rawMs] = await alternateRounds(
      rounds,
      (r) => writeHistoryCsv(dir.path, rows, r),
      [(path) => importScores(fabra, path, rows), raw],
      (m) => log(`import: ${m}`),
    );
    const stored = await db.query("SELECT count(*) AS n FROM fabra_feature_values WHERE feature = 'score'");
    if (Number(stored[0].n) !== rows * rounds + WARM_UP_ROWS) throw new Error(`history has ${stored[0].n} rows`);
    return importResult({
      name: "import",
      description: `importHistory of a ${rows.toLocaleString()}-row CSV into history on a DuckDB file, vs a raw INSERT ... SELECT FROM read_csv of the same file`,
      rows,
      fabraMs,
      rawMs,
    });
  } finally {
    await fabra.close();
    dir.cleanup();
  }
}

runIfMain(import.meta.url, run);
