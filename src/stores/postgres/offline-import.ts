// Backfill on Postgres: the file (CSV or Parquet) is staged and checked in an in-memory DuckDB (io/history-stage.ts:
// bad rows with their line, values encoded by kind, no row through JS), then each batch goes to Postgres as ONE JSON
// document (built by DuckDB) expanded by json_to_recordset in a single INSERT ... SELECT ... ON CONFLICT DO NOTHING:
// one statement, so one transaction, per batch; the same file again adds nothing (same run ids). Postgres' COPY
// would be faster still, but no COPY client (pg-copy-streams) is installed.
import { failedBatches, stageHistoryFile } from "../../io/history-stage.js";
import { withMemoryDuckDB } from "../../io/memory-duckdb.js";
import type { ImportFilePlan, ImportFileResult } from "../types.js";
import { pgTimestamp } from "./offline-pit.js";
import type { PgDatabase } from "./pool.js";

export async function importFile(db: PgDatabase, table: string, plan: ImportFilePlan): Promise<ImportFileResult> {
  return withMemoryDuckDB(async (c) => {
    const staged = await stageHistoryFile(c, plan, "fabra_import_stage");
    const { rows, runPrefix, offset } = staged;
    const bad = failedBatches(staged, plan.batchSize);
    const result: ImportFileResult = { rows, written: 0, batches: 0, failedBatches: 0, badRows: staged.badRows };
    const sql = `INSERT INTO ${table} (feature, entity_id, value_json, computed_at, run_id, known_at)
      SELECT $1, x.e, x.v, x.t, $2 || ':' || lpad(x.n::text, 12, '0'), coalesce(x.k, $3::timestamptz)
      FROM json_to_recordset($4::json) AS x(e text, t timestamptz, v text, n bigint, k timestamptz)
      ON CONFLICT (feature, entity_id, run_id) DO NOTHING`;
    const iso = (x: string) => `strftime(${x}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
    for (let b = 0; b * plan.batchSize < rows; b++) {
      const lo = b * plan.batchSize;
      const hi = Math.min(rows, lo + plan.batchSize) - 1;
      result.batches++;
      if (bad.has(b)) result.failedBatches++;
      else {
        const json = (
          await c.runAndReadAll(
            `SELECT CAST(to_json(list({'e': entity_id, 't': ${iso("ts")}, 'v': value_json, 'n': rowid + ${offset}, 'k': ${iso("known")}})) AS VARCHAR)
             FROM temp.main.fabra_import_stage WHERE rowid BETWEEN ${lo} AND ${hi}`,
          )
        ).getColumnsJS()[0]?.[0] as string;
        await db.query(sql, [plan.feature, runPrefix, pgTimestamp(plan.knownAt), json], { retry: true });
        result.written += hi - lo + 1;
      }
      plan.onProgress?.(hi + 1, rows);
    }
    return result;
  });
}
