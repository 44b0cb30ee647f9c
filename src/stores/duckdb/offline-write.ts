// Writing feature history on DuckDB. A batch is appended straight into history in one transaction (the primary key
// rejects a (feature, entity, run) already stored; such a batch is retried through a staging table with ON CONFLICT
// DO NOTHING, so the first value is kept).
// Ties: features where two values of one entity share a computed_at are listed in fabra_feature_ties, so only they
// pay for the (computed_at, run_id) key in the point-in-time join. A tie is only possible when a batch is not newer
// than everything stored for its feature; the newest computed_at per feature is kept in memory for the open file
// (exact: one process writes a DuckDB file, and writes to it are serialized here), so the usual batch costs no
// extra statement, and the exact check runs only on older or same-instant batches (backfills, interleaved writers).
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import { DuckDBTimestampValue, listValue } from "./driver.js";
import { FabraError } from "../../errors.js";
import { normalFormMicros, toEpochMicros } from "../../record/datetime.js";
import type { DuckDatabase } from "./database.js";
import { storedRunId } from "../offline-history.js";
import type { FeatureValueRow } from "../types.js";

const TIES_TABLE = "fabra_feature_ties";

/** Per open file: the newest computed_at of each feature written so far (loaded on first write), and a write queue. */
export interface FileState {
  newest: Map<string, bigint | null>;
  queue: Promise<unknown>;
}
const states = new WeakMap<object, FileState>();

export function stateOf(db: DuckDatabase): FileState {
  let state = states.get(db.file);
  if (!state) {
    state = { newest: new Map(), queue: Promise.resolve() };
    states.set(db.file, state);
  }
  return state;
}

/** Creates the ties table; on a file written before it existed, finds the features with ties once. */
export async function ensureTiesTable(db: DuckDatabase): Promise<void> {
  const existed = (
    await db.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = '${TIES_TABLE}' AND NOT temporary`,
    )
  )[0]?.n;
  await db.run(`CREATE TABLE IF NOT EXISTS ${TIES_TABLE} (feature VARCHAR PRIMARY KEY)`);
  if (existed) return;
  await db.run(
    `INSERT INTO ${TIES_TABLE} SELECT DISTINCT feature FROM fabra_feature_values GROUP BY feature, entity_id, computed_at HAVING count(*) > 1 ON CONFLICT DO NOTHING`,
  );
}

/** toEpochMicros with the fast path for normal-form text (what fabra itself writes, a row at a time). */
export const epochMicros = (text: string): bigint => normalFormMicros(text) ?? toEpochMicros(text);

export interface Span {
  min: bigint;
  max: bigint;
  /** Two rows of this batch share (entity, computed_at). */
  tiedWithin: boolean;
}

/** Thrown inside the fast path when a (feature, entity, run) is already stored: the batch is retried with ON CONFLICT. */
class DuplicateRows extends Error {}

export async function writeValues(db: DuckDatabase, rows: FeatureValueRow[]): Promise<void> {
  if (rows.length === 0) return;
  // Invalid datetimes fail before the transaction. Batches share instants (values computed in the same ms): parse once.
  let lastText = "";
  let lastMicros = 0n;
  const micros = rows.map((r) => {
    if (r.computedAt !== lastText) {
      lastMicros = epochMicros(r.computedAt);
      lastText = r.computedAt;
    }
    return lastMicros;
  });
  const known = rows.map((r, i) => (r.knownAt === undefined ? (micros[i] as bigint) : epochMicros(r.knownAt)));
  const runIds = rows.map((r) => storedRunId(r.runId));
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
  const fill = (appender: DuckDBAppender) => {
    rows.forEach((r, i) => {
      appender.appendVarchar(r.feature);
      appender.appendVarchar(r.entityId);
      appender.appendVarchar(r.valueJson);
      appender.appendTimestamp(new DuckDBTimestampValue(micros[i] as bigint));
      appender.appendVarchar(runIds[i] as string);
      appender.appendTimestamp(new DuckDBTimestampValue(known[i] as bigint));
      appender.endRow();
    });
  };

  const state = stateOf(db);
  const write = async () => {
    await loadNewest(db, state, [...spans.keys()]);
    try {
      // Fast path (every materialization batch): append straight into history.
      await db.transaction(async (_run, connection) => {
        const appender = await connection.createAppender("fabra_feature_values");
        try {
          fill(appender);
          appender.flushSync();
        } catch (err) {
          // Drop the rows the appender still holds, so closing it below flushes nothing: an appender left unclosed
          // would flush them when it is collected, aborting whatever transaction then runs on this connection.
          appender.clear();
          if (/Duplicate key|PRIMARY KEY or UNIQUE constraint/i.test((err as Error).message))
            throw new DuplicateRows((err as Error).message);
          throw err;
        } finally {
          try {
            appender.closeSync();
          } catch {
            // the transaction is rolled back anyway
          }
        }
        await recordTies(connection, state, spans);
      });
    } catch (err) {
      if (!(err instanceof FabraError && err.cause instanceof DuplicateRows)) throw err;
      // Some rows are already stored: stage the batch and keep the first value of each (feature, entity, run).
      await db.transaction(async (run, connection) => {
        const appender = await connection.createAppender("fabra_stage_values", "main", "temp");
        try {
          fill(appender);
          appender.flushSync();
        } catch (err) {
          appender.clear(); // as above: nothing left to flush when it is closed or collected
          throw err;
        } finally {
          appender.closeSync();
        }
        try {
          await run("INSERT INTO fabra_feature_values SELECT * FROM fabra_stage_values ON CONFLICT DO NOTHING");
        } finally {
          await run("DELETE FROM fabra_stage_values");
        }
        await recordTies(connection, state, spans);
      });
    }
    // Committed: the newest instants move forward.
    for (const [feature, span] of spans) {
      const before = state.newest.get(feature) ?? null;
      if (before === null || span.max > before) state.newest.set(feature, span.max);
    }
  };
  const result = state.queue.then(write);
  state.queue = result.catch(() => undefined);
  return result;
}

/** The newest computed_at of features not yet seen by this process (one filtered max per feature, once). */
export async function loadNewest(db: DuckDatabase, state: FileState, features: string[]): Promise<void> {
  const missing = features.filter((f) => !state.newest.has(f));
  if (missing.length === 0) return;
  const rows = await db.query<{ feature: string; newest: bigint }>(
    "SELECT feature, epoch_us(max(computed_at)) AS newest FROM fabra_feature_values WHERE feature IN (SELECT unnest($1::VARCHAR[])) GROUP BY feature",
    [listValue(missing)],
  );
  for (const f of missing) state.newest.set(f, null);
  for (const r of rows) state.newest.set(r.feature, r.newest);
}

/** Within the write's transaction: lists a feature in the ties table when this batch made (or met) a tie. */
export async function recordTies(
  connection: DuckDBConnection,
  state: FileState,
  spans: Map<string, Span>,
): Promise<void> {
  for (const [feature, span] of spans) {
    const newest = state.newest.get(feature) ?? null;
    let tie = span.tiedWithin;
    if (!tie && newest !== null && span.min <= newest) {
      // A tie can only be at an instant up to the old newest one (often the same millisecond).
      const hi = span.max < newest ? span.max : newest;
      const found = await connection.runAndReadAll(
        `SELECT 1 FROM fabra_feature_values a JOIN fabra_feature_values b
           ON a.entity_id = b.entity_id AND a.computed_at = b.computed_at AND a.run_id < b.run_id
         WHERE a.feature = $1 AND b.feature = $1 AND a.computed_at BETWEEN $2 AND $3 AND b.computed_at BETWEEN $2 AND $3 LIMIT 1`,
        [feature, new DuckDBTimestampValue(span.min), new DuckDBTimestampValue(hi)],
      );
      tie = found.currentRowCount > 0;
    }
    if (tie) await connection.run(`INSERT INTO ${TIES_TABLE} VALUES ($1) ON CONFLICT DO NOTHING`, [feature]);
  }
}

/** The features (of `features`) whose history has ties on computed_at. */
export async function featuresWithTies(c: DuckDBConnection, features: string[]): Promise<Set<string>> {
  if (features.length === 0) return new Set();
  const reader = await c.runAndReadAll(
    `SELECT feature FROM ${TIES_TABLE} WHERE feature IN (SELECT unnest($1::VARCHAR[]))`,
    [listValue(features)],
  );
  return new Set((reader.getColumnsJS()[0] ?? []) as string[]);
}
