// Backfill on Postgres: the file (CSV or Parquet) is staged and checked in an in-memory DuckDB (io/history-stage.ts:
// bad rows with their line, values encoded by kind, no row through JS), then each batch is written by DuckDB as COPY
// text and sent with COPY ... FROM STDIN (copy-from.ts), one transaction per batch. A batch none of whose run ids is
// stored yet (a first import) is copied straight into history; otherwise (the file imported before, wholly or in
// part; or another import of it racing this one: a unique violation or a deadlock) it is copied into a temp table and
// moved on with INSERT ... SELECT ... ON CONFLICT DO NOTHING, so the same file again adds nothing. Two batches are
// written at once, on two connections, while DuckDB builds the next one's text; once a batch failed, none starts.
import type { DuckDBConnection } from "@duckdb/node-api";
import { FabraError } from "../../errors.js";
import { failedBatches, type StagedHistoryFile, stageHistoryFile } from "../../io/history-stage.js";
import { withMemoryDuckDB } from "../../io/memory-duckdb.js";
import type { ImportFilePlan, ImportFileResult } from "../types.js";
import { pgTimestamp, retryOnDroppedConnection } from "./offline-pit.js";
import type { PgDatabase } from "./pool.js";

const STAGE = "fabra_import_stage";
const COLUMNS = "feature, entity_id, value_json, computed_at, run_id, known_at";
/** A unique violation, a deadlock: what a COPY straight into history meets when another import of the file races it. */
const RACED = new Set(["23505", "40P01"]);
/** Batches written at once, each on its own connection of the pool (one on a pool of fewer than 4). */
const IN_FLIGHT = 2;

interface Batch {
  /** First and last rowid of the staged file. */
  lo: number;
  hi: number;
  /** It holds a bad row: not written. */
  bad: boolean;
}

export async function importFile(db: PgDatabase, table: string, plan: ImportFilePlan): Promise<ImportFileResult> {
  return withMemoryDuckDB(async (c) => {
    const staged = await stageHistoryFile(c, plan, STAGE);
    const { rows } = staged;
    const bad = failedBatches(staged, plan.batchSize);
    const batches: Batch[] = [];
    for (let b = 0; b * plan.batchSize < rows; b++) {
      const lo = b * plan.batchSize;
      batches.push({ lo, hi: Math.min(rows, lo + plan.batchSize) - 1, bad: bad.has(b) });
    }
    const result: ImportFileResult = {
      rows,
      written: 0,
      batches: batches.length,
      failedBatches: bad.size,
      badRows: staged.badRows,
    };
    let done = 0;
    const progress = (batch: Batch) => {
      done += batch.hi - batch.lo + 1;
      plan.onProgress?.(done, rows);
    };
    const good = batches.filter((b) => !b.bad);
    // DuckDB builds the next batch's text while Postgres takes the ones before it.
    const textOf = (batch: Batch | undefined) => {
      if (!batch) return undefined;
      const text = copyText(c, staged, plan, batch);
      text.catch(() => undefined); // awaited later; a failure meanwhile is not an unhandled rejection
      return text;
    };
    let pending = textOf(good[0]);
    let next = 1;
    const inFlight = Math.min(IN_FLIGHT, Math.max(1, Math.floor((db.target.poolSize ?? 10) / 2)));
    const writing = new Set<Promise<void>>();
    let failed = false;
    try {
      for (const batch of batches) {
        if (batch.bad) {
          progress(batch);
          continue;
        }
        const data = await (pending as Promise<Buffer>);
        pending = textOf(good[next++]);
        if (writing.size >= inFlight) await Promise.race(writing);
        if (failed) break; // Promise.all below throws its error
        const write: Promise<void> = writeBatch(db, table, plan, staged, batch, data).then(() => {
          writing.delete(write);
          result.written += batch.hi - batch.lo + 1;
          progress(batch);
        });
        write.catch(() => {
          failed = true; // awaited below (or raced above): never an unhandled rejection
        });
        writing.add(write);
      }
      await Promise.all(writing);
    } finally {
      // The in-memory database closes after this: no query of it may still run, no batch may still be in flight.
      await Promise.allSettled([...writing, pending]);
    }
    return result;
  });
}

/**
 * The batch's rows as COPY text lines (tab-separated; backslash, tab, newline and carriage return escaped), every
 * column of history filled: the feature, the run id `<prefix>:<line>` and the known time (the file's, else the plan's).
 */
async function copyText(
  c: DuckDBConnection,
  staged: StagedHistoryFile,
  plan: ImportFilePlan,
  batch: Batch,
): Promise<Buffer> {
  const esc = (x: string) =>
    `replace(replace(replace(replace(${x}, '\\', '\\\\'), chr(9), '\\t'), chr(10), '\\n'), chr(13), '\\r')`;
  const iso = (x: string) => `strftime(${x}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
  const line = [
    esc("$1"),
    esc("entity_id"),
    esc("value_json"),
    iso("ts"),
    `$2 || lpad(CAST(rowid + ${staged.offset} AS VARCHAR), 12, '0')`,
    `coalesce(${iso("known")}, $3)`,
  ].join(" || chr(9) || ");
  const reader = await c.runAndReadAll(
    // In file order: two imports of one file (racing) then insert keys in the same order, so they cannot deadlock.
    `SELECT coalesce(string_agg(${line} || chr(10), '' ORDER BY rowid), '') FROM temp.main.${STAGE}
     WHERE rowid BETWEEN ${batch.lo} AND ${batch.hi}`,
    [plan.feature, `${staged.runPrefix}:`, pgTimestamp(plan.knownAt)],
  );
  return Buffer.from(String(reader.getColumnsJS()[0]?.[0] ?? ""), "utf8");
}

/** One batch in one transaction: copied straight into history, or through a temp table when any of it is stored. */
async function writeBatch(
  db: PgDatabase,
  table: string,
  plan: ImportFilePlan,
  staged: StagedHistoryFile,
  batch: Batch,
  data: Buffer,
): Promise<void> {
  const expected = batch.hi - batch.lo + 1;
  const runId = (rowid: number) => `${staged.runPrefix}:${String(rowid + staged.offset).padStart(12, "0")}`;
  const checkCount = (copied: number) => {
    if (copied !== expected)
      throw new FabraError("INTERNAL", `COPY took ${copied} rows of a ${expected}-row batch`, {
        hint: "This is a bug in fabra; nothing of the batch was written.",
      });
  };
  const straight = () =>
    db.transaction(async (tx) => checkCount(await tx.copyFrom(`COPY ${table} (${COLUMNS}) FROM STDIN`, data)));
  const merged = () =>
    db.transaction(async (tx) => {
      await tx.query(`CREATE TEMP TABLE fabra_import_batch (LIKE ${table} INCLUDING DEFAULTS) ON COMMIT DROP`);
      checkCount(await tx.copyFrom(`COPY fabra_import_batch (${COLUMNS}) FROM STDIN`, data));
      await tx.query(
        `INSERT INTO ${table} (${COLUMNS}) SELECT ${COLUMNS} FROM fabra_import_batch
         ON CONFLICT (feature, entity_id, run_id) DO NOTHING`,
      );
    });
  try {
    await retryOnDroppedConnection(db, async () => {
      const stored = await db.query<{ stored: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM ${table} WHERE feature = $1 AND run_id BETWEEN $2 AND $3) AS stored`,
        [plan.feature, runId(batch.lo), runId(batch.hi)],
      );
      if (stored[0]?.stored) return merged();
      try {
        return await straight();
      } catch (err) {
        // Another import of this file stored some of these rows meanwhile (or, waiting on it, Postgres chose this one).
        if (err instanceof FabraError && RACED.has(String(err.details?.code))) return merged();
        throw err;
      }
    });
  } catch (err) {
    throw batchFailed(err, plan, staged, batch);
  }
}

/** The batch's failure, naming its lines (and the file's line COPY stopped at, when Postgres says which). */
function batchFailed(err: unknown, plan: ImportFilePlan, staged: StagedHistoryFile, batch: Batch): FabraError {
  const first = batch.lo + staged.offset;
  const last = batch.hi + staged.offset;
  const where = String((err as { cause?: { where?: unknown } }).cause?.where ?? "");
  const at = /COPY \S+, line (\d+)/.exec(where);
  const line = at ? ` at line ${first + Number(at[1]) - 1}` : "";
  const code = err instanceof FabraError ? err.code : "STORE_UNAVAILABLE";
  return new FabraError(
    code,
    `Postgres did not take the batch of lines ${first}-${last} of ${plan.path}${line}: ${(err as Error).message}`,
    {
      hint: "Nothing of this batch was written; the batches before it were (and the one after it may have been). Fix the cause and import the file again: rows already imported are skipped.",
      cause: err,
      ...(err instanceof FabraError && err.details ? { details: err.details } : {}),
    },
  );
}
