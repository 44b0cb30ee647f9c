// "import": rows/s of `importHistory` (a CSV of (entity, event time, value) into history on a DuckDB file, 10,000-row
// transactions) vs the raw bulk load of the same file in the same run: one INSERT ... SELECT FROM read_csv(...) into
// an identical table (same primary key), DuckDB's own fastest path. Each round imports a new file (fresh run ids).
// Run alone: node bench/import.bench.js [--quick]      (needs `npm run build` first)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFabra, entity, feature } from "../dist/index.js";
import { median, runIfMain } from "./lib.js";

export default async function run(options = {}) {
  const log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
  const quick = options.quick === true;
  const rows = quick ? 20_000 : 200_000;
  const dir = mkdtempSync(join(tmpdir(), "fabra-bench-import-"));
  const user = entity("user");
  const score = feature({ entity: user }, () => 0);
  const fabra = await createFabra({
    definitions: { user, score },
    stores: { offline: { type: "duckdb", path: join(dir, "import.duckdb") } },
    warn: log,
  });
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
    const db = fabra.stores.offline.db;
    await db.run(`CREATE TABLE raw_values (feature VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, value_json VARCHAR NOT NULL,
                  computed_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL, known_at TIMESTAMP NOT NULL, PRIMARY KEY (feature, entity_id, run_id))`);
    const raw = async (path, round) => {
      await db.run(
        `INSERT INTO raw_values SELECT 'score', entity_id, CAST(value AS VARCHAR), CAST(timestamp AS TIMESTAMP),
           'raw:${round}:' || row_number() OVER (), now()::TIMESTAMP FROM read_csv($1, header = true)`,
        [path],
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
      log(`import: round ${r + 1}/${rounds}`);
      const path = writeFile(r);
      for (const [fn, into] of r % 2 === 0
        ? [
            [() => mine(path), fabraMs],
            [() => raw(path, r), rawMs],
          ]
        : [
            [() => raw(path, r), rawMs],
            [() => mine(path), fabraMs],
          ]) {
        globalThis.gc?.();
        const start = performance.now();
        await fn();
        into.push(performance.now() - start);
      }
    }
    const stored = await db.query("SELECT count(*) AS n FROM fabra_feature_values WHERE feature = 'score'");
    if (Number(stored[0].n) !== rows * rounds) throw new Error(`history has ${stored[0].n} rows`);
    const fabraRate = (rows * 1000) / median(fabraMs);
    const rawRate = (rows * 1000) / median(rawMs);
    const ratio = fabraRate / rawRate;
    return {
      name: "import",
      description: `importHistory of a ${rows.toLocaleString()}-row CSV into history on a DuckDB file, vs a raw INSERT ... SELECT FROM read_csv of the same file`,
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
    await fabra.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
