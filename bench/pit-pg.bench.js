// "pit-pg": point-in-time reads on the Postgres offline store. 2 features × 20,000 entities × 5 values (200,000
// history rows, written through the store's own batch path) joined to 50,000 events in one pointInTime call,
// against the same LEFT JOIN LATERAL statement sent with a raw pg client (same arrays, rows read into JS) in the
// same run. Then the history grows 4× (older values) and the join is timed again: each event is one backward index
// probe per feature, so its cost should barely move. Target: ratio (fabra / raw, medians) <= 1.3.
// Run alone: node bench/pit-pg.bench.js [--quick]      (needs `npm run build` and the Postgres of the tests)
import pg from "pg";
import { toDatetime } from "../dist/record/datetime.js";
import { open } from "../dist/stores/postgres/offline.js";
import { applyMigrations } from "../dist/stores/postgres/migrate.js";
import { PgDatabase } from "../dist/stores/postgres/pool.js";
import { benchOptions, median, round, runIfMain } from "./lib.js";
import { dropSchema, POSTGRES_URL, uniqueName } from "./prod-services.js";

const FEATURES = ["f_spend", "f_tier"];
const TARGET = 1.3;
const DAY = 86_400_000;
const BASE = Date.parse("2025-01-01T00:00:00Z");

export default async function run(options = benchOptions()) {
  const { quick, log } = options;
  const entities = quick ? 5_000 : 20_000;
  const valuesPerEntity = 5;
  const events = quick ? 10_000 : 50_000;
  const rounds = quick ? 3 : 5;
  const schema = uniqueName();
  const target = { url: POSTGRES_URL, schema, poolSize: 4, service: "stores.offline" };
  const admin = await PgDatabase.open(target);
  await applyMigrations(admin);
  const store = await open(target);
  const raw = new pg.Client({ connectionString: POSTGRES_URL });
  await raw.connect();
  try {
    // History: value k of entity e at BASE + 30k days + a per-entity offset; older values go before BASE.
    const write = async (fromK, toK) => {
      let rows = 0;
      for (const [f, feature] of FEATURES.entries()) {
        for (let k = fromK; k < toK; k++) {
          const batch = new Array(entities);
          for (let e = 0; e < entities; e++) {
            const at = BASE + k * 30 * DAY + ((e * 7919 + f * 104729) % (20 * DAY));
            batch[e] = {
              feature,
              entityId: `u${e}`,
              valueJson: f === 0 ? `${(e % 1000) + k}.5` : `"tier_${(e + k) % 4}"`,
              computedAt: toDatetime(at),
              runId: `run_${k + 100}`,
            };
          }
          await store.writeValues(batch);
          rows += entities;
        }
      }
      await admin.query(`ANALYZE ${admin.ident("fabra_feature_values")}`);
      return rows;
    };
    log(`pit-pg: writing ${(entities * valuesPerEntity * FEATURES.length).toLocaleString()} history rows`);
    const t = performance.now();
    const historyRows = await write(0, valuesPerEntity);
    const loadMs = performance.now() - t;

    // Events: random entities at random times across (and before) the history.
    let seed = 42;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const entityIds = Array.from({ length: events }, () => `u${Math.floor(next() * entities)}`);
    // Normal-form datetimes, as getTrainingData hands them to the store.
    const timestamps = Array.from({ length: events }, () =>
      toDatetime(BASE - 10 * DAY + Math.floor(next() * 170 * DAY)),
    );
    const keys = { kind: "keys", entityIds, timestamps };
    const features = FEATURES.map((name) => ({ name }));

    const table = admin.ident("fabra_feature_values");
    const lateral = (
      k,
    ) => `LEFT JOIN LATERAL (SELECT f.value_json FROM ${table} f WHERE f.feature = $${3 + k} AND f.entity_id = e.entity_id AND f.computed_at <= e.ts
      ORDER BY f.computed_at DESC, f.run_id COLLATE "C" DESC LIMIT 1) h${k} ON TRUE`;
    const rawSql = `SELECT e.i::int AS i, h0.value_json AS v0, h1.value_json AS v1 FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS e(entity_id, ts, i) ${lateral(0)} ${lateral(1)}`;
    const rawRun = async () => {
      const rows = (await raw.query(rawSql, [entityIds, timestamps, ...FEATURES])).rows;
      const out = FEATURES.map(() => new Array(events));
      for (const r of rows) {
        out[0][r.i - 1] = r.v0;
        out[1][r.i - 1] = r.v1;
      }
      return out;
    };
    const fabraRun = async () => (await store.pointInTime(keys, features)).values;
    // Shared buffers the join touches per (event, feature): index levels + one heap page, whatever the history size.
    const buffersPerProbe = async () => {
      const [plan] = (
        await raw.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${rawSql}`, [entityIds, timestamps, ...FEATURES])
      ).rows[0]["QUERY PLAN"];
      const buffers = plan.Plan["Shared Hit Blocks"] + plan.Plan["Shared Read Blocks"];
      return buffers / (events * FEATURES.length);
    };

    // Same answers (checked once), at least some before the first value and some found.
    const [mine, theirs] = [await fabraRun(), await rawRun()];
    let found = 0;
    for (let k = 0; k < FEATURES.length; k++) {
      for (let i = 0; i < events; i++) {
        if (mine[k][i] !== theirs[k][i])
          throw new Error(`pit-pg: event ${i} ${FEATURES[k]}: fabra ${mine[k][i]} vs raw ${theirs[k][i]}`);
        if (mine[k][i] !== null) found++;
      }
    }
    if (found === 0 || found === events * FEATURES.length)
      throw new Error(`pit-pg: degenerate data (${found} values found)`);

    const time = async (fn) => {
      globalThis.gc?.();
      const start = performance.now();
      await fn();
      return performance.now() - start;
    };
    const fabraMs = [];
    const rawMs = [];
    for (let r = 0; r < rounds; r++) {
      log(`pit-pg: round ${r + 1}/${rounds}`);
      for (const [fn, into] of r % 2 === 0
        ? [
            [fabraRun, fabraMs],
            [rawRun, rawMs],
          ]
        : [
            [rawRun, rawMs],
            [fabraRun, fabraMs],
          ])
        into.push(await time(fn));
    }

    const probeBuffers = await buffersPerProbe();
    log(`pit-pg: growing the history 4× with older values`);
    const olderRows = await write(-3 * valuesPerEntity, 0);
    const grownProbeBuffers = await buffersPerProbe();
    const grownMs = [];
    for (let r = 0; r < rounds; r++) grownMs.push(await time(fabraRun));
    const after = await fabraRun();
    for (let k = 0; k < FEATURES.length; k++)
      for (let i = 0; i < events; i++)
        if (after[k][i] !== mine[k][i] && mine[k][i] !== null)
          throw new Error("pit-pg: older values changed an answer");

    const ratio = median(fabraMs) / median(rawMs);
    return {
      name: "pit-pg",
      description: `Postgres pointInTime, ${historyRows.toLocaleString()} history rows × ${events.toLocaleString()} events, ${FEATURES.length} features, vs the same LATERAL join sent raw; then 4× the history`,
      metrics: {
        historyRows,
        events,
        fabraMedianMs: round(median(fabraMs)),
        rawSqlMedianMs: round(median(rawMs)),
        fabraEventsPerSecond: Math.round((events * 1000) / median(fabraMs)),
        grownHistoryRows: historyRows + olderRows,
        grownFabraMedianMs: round(median(grownMs)),
        grownSlowdown: round(median(grownMs) / median(fabraMs)),
        buffersPerProbe: round(probeBuffers, 2),
        grownBuffersPerProbe: round(grownProbeBuffers, 2),
        historyWriteRowsPerSecond: Math.round((historyRows * 1000) / loadMs),
        rounds,
      },
      ratio: round(ratio),
      target: `<= ${TARGET}`,
      pass: ratio <= TARGET,
    };
  } finally {
    await raw.end();
    await store.close();
    await admin.close();
    await dropSchema(POSTGRES_URL, schema);
  }
}

runIfMain(import.meta.url, run);
