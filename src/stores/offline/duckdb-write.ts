// Writing feature history on DuckDB: batches go through the appender into a per-connection staging table, then into
// history with ON CONFLICT DO NOTHING, in one transaction. Per feature it keeps the newest computed_at and whether two
// values of one entity share a computed_at (a tie): only features with ties pay for the (computed_at, run_id) join
// key in the point-in-time join, the others join on computed_at alone. Ties are looked for only when a batch is not
// newer than everything already stored (backfills, interleaved writers), and then only in that time range.
import { randomUUID } from "node:crypto";
import { DuckDBTimestampValue, listValue, type DuckDBConnection } from "@duckdb/node-api";
import { toEpochMicros } from "../../record/datetime.js";
import type { DuckDatabase } from "../shared/duckdb-database.js";
import type { FeatureValueRow } from "../types.js";

/** Values computed on read have no run; they get a run id of their own so each is kept. */
export const READ_RUN_PREFIX = "read:";

export const STATS_TABLE = "fabra_feature_stats";

/** Creates the stats table; on a file written before it existed, fills it from the history once. */
export async function ensureStats(db: DuckDatabase): Promise<void> {
  const existed = (await db.query<{ n: bigint }>(`SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = '${STATS_TABLE}' AND NOT temporary`))[0]?.n;
  await db.run(`CREATE TABLE IF NOT EXISTS ${STATS_TABLE} (feature VARCHAR PRIMARY KEY, max_computed_at TIMESTAMP NOT NULL, has_ties BOOLEAN NOT NULL)`);
  if (existed) return;
  await db.transaction(async (run) => {
    await run(`INSERT INTO ${STATS_TABLE} SELECT feature, max(computed_at), false FROM fabra_feature_values GROUP BY feature ON CONFLICT DO NOTHING`);
    await run(
      `UPDATE ${STATS_TABLE} SET has_ties = true WHERE feature IN
         (SELECT DISTINCT feature FROM fabra_feature_values GROUP BY feature, entity_id, computed_at HAVING count(*) > 1)`,
    );
  });
}

interface Span {
  min: bigint;
  max: bigint;
  /** Two rows of this batch share (entity, computed_at). */
  tiedWithin: boolean;
}

export async function writeValues(db: DuckDatabase, rows: FeatureValueRow[]): Promise<void> {
  if (rows.length === 0) return;
  const micros = rows.map((r) => toEpochMicros(r.computedAt)); // invalid datetimes fail before the transaction
  const spans = new Map<string, Span>();
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const t = micros[i] as bigint;
    const span = spans.get(r.feature);
    if (!span) spans.set(r.feature, { min: t, max: t, tiedWithin: false });
    else {
      if (t < span.min) span.min = t;
      if (t > span.max) span.max = t;
    }
    const key = `${r.feature}\u0000${r.entityId}\u0000${t}`;
    if (seen.has(key)) (spans.get(r.feature) as Span).tiedWithin = true;
    else seen.add(key);
  });

  await db.transaction(async (run, connection) => {
    const appender = await connection.createAppender("fabra_stage_values", "main", "temp");
    try {
      rows.forEach((r, i) => {
        appender.appendVarchar(r.feature);
        appender.appendVarchar(r.entityId);
        appender.appendVarchar(r.valueJson);
        appender.appendTimestamp(new DuckDBTimestampValue(micros[i] as bigint));
        appender.appendVarchar(r.runId ?? READ_RUN_PREFIX + randomUUID());
        appender.endRow();
      });
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    try {
      const features = [...spans.keys()];
      const stats = (
        await connection.runAndReadAll(`SELECT feature, epoch_us(max_computed_at) AS max_us, has_ties FROM ${STATS_TABLE} WHERE feature IN (SELECT unnest($1::VARCHAR[]))`, [
          listValue(features),
        ])
      ).getRowObjectsJS() as unknown as { feature: string; max_us: bigint; has_ties: boolean }[];
      const known = new Map(stats.map((s) => [s.feature, s]));
      for (const [feature, span] of spans) {
        const before = known.get(feature);
        let ties = before?.has_ties === true || span.tiedWithin;
        if (!ties && before && span.min <= before.max_us) {
          // Not strictly newer than the stored values: look for a stored value at one of this batch's instants.
          const found = await connection.runAndReadAll(
            `SELECT 1 FROM fabra_stage_values s JOIN fabra_feature_values h
               ON h.entity_id = s.entity_id AND h.computed_at = s.computed_at AND h.run_id <> s.run_id
             WHERE s.feature = $1 AND h.feature = $1 AND h.computed_at BETWEEN $2 AND $3 LIMIT 1`,
            [feature, new DuckDBTimestampValue(span.min), new DuckDBTimestampValue(span.max)],
          );
          ties = found.currentRowCount > 0;
        }
        const max = before && before.max_us > span.max ? before.max_us : span.max;
        await run(
          `INSERT INTO ${STATS_TABLE} VALUES ($1, $2, $3) ON CONFLICT (feature) DO UPDATE SET max_computed_at = excluded.max_computed_at, has_ties = excluded.has_ties`,
          [feature, new DuckDBTimestampValue(max), ties],
        );
      }
      await run("INSERT INTO fabra_feature_values SELECT * FROM fabra_stage_values ON CONFLICT DO NOTHING");
    } finally {
      await run("DELETE FROM fabra_stage_values");
    }
  });
}

/** The features (of `features`) whose history has ties on computed_at. */
export async function featuresWithTies(c: DuckDBConnection, features: string[]): Promise<Set<string>> {
  if (features.length === 0) return new Set();
  const reader = await c.runAndReadAll(`SELECT feature FROM ${STATS_TABLE} WHERE has_ties AND feature IN (SELECT unnest($1::VARCHAR[]))`, [listValue(features)]);
  return new Set((reader.getColumnsJS()[0] ?? []) as string[]);
}
