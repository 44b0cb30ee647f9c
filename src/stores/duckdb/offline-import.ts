// Backfill on DuckDB, store-side: the file (CSV or Parquet) is staged in the store's own DuckDB and checked there
// (io/history-stage.ts: no row goes through JS), then moved into history batch by batch, each batch one transaction
// of INSERT ... SELECT with an anti-join on the run ids this file already stored (re-running the file adds nothing).
// A batch with a bad row is not written. Ties and the newest instant per feature are kept as writeValues keeps them
// (offline-write.ts), in the same write queue.
import type { DuckDBConnection } from "@duckdb/node-api";
import { failedBatches, stageHistoryFile } from "../../io/history-stage.js";
import { toEpochMicros } from "../../record/datetime.js";
import type { ImportFilePlan, ImportFileResult } from "../types.js";
import type { DuckDatabase } from "./database.js";
import { DuckDBTimestampValue } from "./driver.js";
import { loadNewest, recordTies, type Span, stateOf } from "./offline-write.js";

let stageCounter = 0;

export async function importFile(db: DuckDatabase, plan: ImportFilePlan): Promise<ImportFileResult> {
  const state = stateOf(db);
  const stage = `fabra_import_stage_${++stageCounter}`;
  const seen = `fabra_import_seen_${stageCounter}`;
  const work = async (): Promise<ImportFileResult> => {
    await loadNewest(db, state, [plan.feature]);
    try {
      const staged = await db.exclusive((c) => stageHistoryFile(c, plan, stage));
      const { rows, runPrefix, offset } = staged;
      const badBatches = failedBatches(staged, plan.batchSize);
      // Run ids of this file already in history (an earlier import of the same file): skipped by the anti-join.
      await db.run(
        `CREATE TEMP TABLE ${seen} AS SELECT entity_id, run_id FROM fabra_feature_values WHERE feature = $1 AND starts_with(run_id, $2)`,
        [plan.feature, `${runPrefix}:`],
      );
      const knownAt = new DuckDBTimestampValue(toEpochMicros(plan.knownAt));
      const result: ImportFileResult = { rows, written: 0, batches: 0, failedBatches: 0, badRows: staged.badRows };
      for (let b = 0; b * plan.batchSize < rows; b++) {
        const lo = b * plan.batchSize;
        const hi = Math.min(rows, lo + plan.batchSize) - 1;
        result.batches++;
        if (badBatches.has(b)) {
          result.failedBatches++;
        } else {
          const span = await db.transaction(async (run, connection) => {
            const runId = `$2 || ':' || lpad(CAST(s.rowid + ${offset} AS VARCHAR), 12, '0')`;
            await run(
              `INSERT INTO fabra_feature_values (feature, entity_id, value_json, computed_at, run_id, known_at)
               SELECT $1, s.entity_id, s.value_json, s.ts, ${runId}, coalesce(s.known, $3)
               FROM temp.main.${stage} s
               WHERE s.rowid BETWEEN ${lo} AND ${hi}
                 AND NOT EXISTS (SELECT 1 FROM temp.main.${seen} x WHERE x.entity_id = s.entity_id AND x.run_id = ${runId})`,
              [plan.feature, runPrefix, knownAt],
            );
            const span = await batchSpan(connection, stage, lo, hi);
            if (span) await recordTies(connection, state, new Map([[plan.feature, span]]));
            return span;
          });
          // Committed: the newest instant moves forward.
          const before = state.newest.get(plan.feature) ?? null;
          if (span && (before === null || span.max > before)) state.newest.set(plan.feature, span.max);
          result.written += hi - lo + 1;
        }
        plan.onProgress?.(hi + 1, rows);
      }
      return result;
    } finally {
      await db.run(`DROP TABLE IF EXISTS temp.main.${stage}`).catch(() => undefined);
      await db.run(`DROP TABLE IF EXISTS temp.main.${seen}`).catch(() => undefined);
    }
  };
  const result = state.queue.then(work);
  state.queue = result.catch(() => undefined);
  return result;
}

/** The batch's span of event times, and whether two of its rows share (entity, event time). */
async function batchSpan(c: DuckDBConnection, stage: string, lo: number, hi: number): Promise<Span | null> {
  const row = (
    await c.runAndReadAll(
      `SELECT epoch_us(min(ts)) AS lo, epoch_us(max(ts)) AS hi, count(*) > count(DISTINCT (entity_id, ts)) AS tied
       FROM temp.main.${stage} WHERE rowid BETWEEN ${lo} AND ${hi}`,
    )
  ).getRowObjectsJS()[0] as { lo: bigint | null; hi: bigint | null; tied: boolean } | undefined;
  if (!row || row.lo === null || row.hi === null) return null;
  return { min: row.lo, max: row.hi, tiedWithin: row.tied };
}
