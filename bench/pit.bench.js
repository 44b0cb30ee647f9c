// "pit": point-in-time training data. 1,000,000 history rows (2 features × 100,000 entities × 5 values) joined to
// 100,000 events read from a Parquet file. fabra's getTrainingData (rows out, values decoded) against the same
// ASOF LEFT JOINs written directly in DuckDB SQL on the same connection, rows read into JS objects, in the same run.
// Run alone: node bench/pit.bench.js [--quick]      (needs `npm run build` first)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFabra, entity, feature } from "../dist/index.js";
import { median, round, runIfMain } from "./lib.js";

const FEATURES = ["f_spend", "f_tier"];

export default async function run(options = {}) {
  const log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
  const quick = options.quick === true;
  const entities = quick ? 10_000 : 100_000;
  const valuesPerEntity = 5;
  const events = quick ? 10_000 : 100_000;
  const rounds = quick ? 3 : 7;
  const dir = mkdtempSync(join(tmpdir(), "fabra-bench-pit-"));
  const user = entity("user");
  const defs = { user };
  for (const name of FEATURES) defs[name] = feature({ name, entity: user }, () => null);
  const fabra = await createFabra({
    definitions: defs,
    stores: { offline: { type: "duckdb", path: join(dir, "pit.duckdb") } },
    warn: log,
  });
  try {
    // ---- setup (not timed against the baseline): history through fabra's own bulk write path
    const base = Date.parse("2025-01-01T00:00:00Z");
    const day = 86_400_000;
    const historyRows = entities * valuesPerEntity * FEATURES.length;
    log(`pit: writing ${historyRows.toLocaleString()} history rows`);
    const loadStart = performance.now();
    for (const [f, name] of FEATURES.entries()) {
      for (let k = 0; k < valuesPerEntity; k++) {
        const rows = new Array(entities);
        for (let e = 0; e < entities; e++) {
          const at = base + k * 30 * day + ((e * 7919 + f * 104729) % (20 * day));
          const valueJson = f === 0 ? `${(e % 1000) + k}.5` : `"tier_${(e + k) % 4}"`;
          rows[e] = {
            feature: name,
            entityId: `u${e}`,
            valueJson,
            computedAt: new Date(at).toISOString(),
            runId: `run_${k}`,
          };
        }
        await fabra.stores.offline.writeValues(rows);
      }
    }
    const loadMs = performance.now() - loadStart;

    // Events: random entities at random times across (and before) the history, in a Parquet file.
    const eventsPath = join(dir, "events.parquet");
    const db = fabra.stores.offline.db;
    await db.run(
      `COPY (SELECT 'u' || (hash(i) % ${entities})::VARCHAR AS user_id,
                    TIMESTAMP '2024-12-20' + to_microseconds(((hash(i * 31 + 7) % (170 * 86400)) * 1000000)::BIGINT) AS ts,
                    i % 2 AS label
             FROM range(${events}) t(i)) TO '${eventsPath}' (FORMAT parquet)`,
    );

    const fabraRun = () =>
      fabra.getTrainingData({
        entities: eventsPath,
        features: FEATURES,
        entityColumn: "user_id",
        timestampColumn: "ts",
      });
    const rawSql = `WITH e AS (SELECT * FROM read_parquet($1)),
      a AS (SELECT entity_id, computed_at, value_json FROM fabra_feature_values WHERE feature = '${FEATURES[0]}'),
      b AS (SELECT entity_id, computed_at, value_json FROM fabra_feature_values WHERE feature = '${FEATURES[1]}')
      SELECT e.*, a.value_json AS ${FEATURES[0]}, b.value_json AS ${FEATURES[1]}
      FROM e ASOF LEFT JOIN a ON e.user_id = a.entity_id AND e.ts >= a.computed_at
             ASOF LEFT JOIN b ON e.user_id = b.entity_id AND e.ts >= b.computed_at`;
    const rawRun = () => db.exclusive(async (c) => (await c.runAndReadAll(rawSql, [eventsPath])).getRowObjectsJS());

    // Both give the same values for every event (checked once: the baseline is really the same join).
    const [mine, raw] = [await fabraRun(), await rawRun()];
    check(mine, raw, events);

    // Secondary: the same events handed over as JS rows (appended to DuckDB by fabra) instead of a file.
    const eventRows = mine.map((row) => ({ user_id: row.user_id, ts: row.ts, label: row.label }));
    const arrayRun = () =>
      fabra.getTrainingData({
        entities: eventRows,
        features: FEATURES,
        entityColumn: "user_id",
        timestampColumn: "ts",
      });
    const fromArray = await arrayRun();
    if (
      fromArray.some((row, i) => row[FEATURES[0]] !== mine[i][FEATURES[0]] || row[FEATURES[1]] !== mine[i][FEATURES[1]])
    )
      throw new Error("pit: array input disagrees with file input");

    const fabraMs = [];
    const rawMs = [];
    const arrayMs = [];
    for (let r = 0; r < rounds; r++) {
      for (const [fn, into] of r % 2 === 0
        ? [
            [fabraRun, fabraMs],
            [rawRun, rawMs],
          ]
        : [
            [rawRun, rawMs],
            [fabraRun, fabraMs],
          ]) {
        globalThis.gc?.();
        const start = performance.now();
        await fn();
        into.push(performance.now() - start);
      }
      globalThis.gc?.();
      const start = performance.now();
      await arrayRun();
      arrayMs.push(performance.now() - start);
    }
    const fabraMedian = median(fabraMs);
    const rawMedian = median(rawMs);
    const ratio = fabraMedian / rawMedian;
    return {
      name: "pit",
      description: `getTrainingData, ${historyRows.toLocaleString()} history rows x ${events.toLocaleString()} events (Parquet), ${FEATURES.length} features, vs the same ASOF JOINs in raw DuckDB SQL`,
      metrics: {
        historyRows,
        events,
        fabraMedianMs: round(fabraMedian),
        rawSqlMedianMs: round(rawMedian),
        fabraArrayInputMedianMs: round(median(arrayMs)),
        fabraEventsPerSecond: Math.round((events * 1000) / fabraMedian),
        historyLoadRowsPerSecond: Math.round((historyRows * 1000) / loadMs),
        rounds,
      },
      ratio: round(ratio),
      target: "<= 1.3",
      pass: ratio <= 1.3,
    };
  } finally {
    await fabra.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function check(mine, raw, events) {
  if (mine.length !== events || raw.length !== events)
    throw new Error(`pit: expected ${events} rows, got ${mine.length} and ${raw.length}`);
  const key = (userId, ts) => `${userId}|${ts}`;
  const expected = new Map();
  for (const r of raw) expected.set(key(r.user_id, r.ts.toISOString().slice(0, 19)), [r[FEATURES[0]], r[FEATURES[1]]]);
  let nulls = 0;
  for (const r of mine) {
    const want = expected.get(key(r.user_id, r.ts.slice(0, 19)));
    if (!want) throw new Error(`pit: event ${r.user_id} at ${r.ts} missing from the raw result`);
    const got = [r[FEATURES[0]], r[FEATURES[1]]].map((v) => (v === null ? null : JSON.stringify(v)));
    const exp = want.map((v) => (v === null ? null : JSON.stringify(JSON.parse(v))));
    if (got[0] !== exp[0] || got[1] !== exp[1])
      throw new Error(`pit: ${r.user_id} at ${r.ts}: fabra ${got} vs raw ${exp}`);
    if (got[0] === null) nulls++;
  }
  if (nulls === 0 || nulls === events) throw new Error(`pit: degenerate data (${nulls} events before any value)`);
}

runIfMain(import.meta.url, run);
