// Backfill on DuckDB, store-side: the file (CSV or Parquet) is read by the store's own DuckDB into a staging table
// (one row per line, in file order: rowid), checked in SQL (a row's problem is a code; only bad rows come back to JS,
// with their line), its values encoded in SQL by kind (CSV: a cell that is an integer, a decimal, true/false/null
// is that JSON literal, a cell that cannot start JSON is text; the rare rest — arrays, objects, quoted strings,
// exponents, big integers, whitespace — is decoded in JS exactly as io/history-file.ts decodes it, then written back),
// then moved into history batch by batch, each batch one transaction of INSERT ... SELECT with an anti-join on run
// ids this file already stored (re-running the file adds nothing). A batch with a bad row is not written. Ties and
// the newest instant per feature are kept as writeValues keeps them (offline-write.ts), in the same write queue.
import type { DuckDBConnection } from "@duckdb/node-api";
import { normalForm, quoteId } from "../../io/duckdb-sql.js";
import {
  csvCell,
  describeHistoryFile,
  type HistoryFileColumns,
  historyFileReader,
  historyFileReadFailed,
  type HistoryRowProblem,
  historyRowProblem,
  missingHistoryColumn,
} from "../../io/history-file.js";
import { toEpochMicros } from "../../record/datetime.js";
import { encodeValue } from "../../record/values.js";
import type { ImportFilePlan, ImportFileResult } from "../types.js";
import type { DuckDatabase } from "./database.js";
import { DuckDBTimestampValue } from "./driver.js";
import { loadNewest, recordTies, type Span, stateOf } from "./offline-write.js";

let stageCounter = 0;

const PROBLEMS: HistoryRowProblem[] = ["entity", "time", "time-format", "value", "known", "known-format"];
/** A value the SQL could not encode, to decode in JS (CSV cells of a JSON kind the patterns do not cover). */
const IN_JS = "fabra:decode-in-js"; // never JSON text, so never a real encoded value

export async function importFile(db: DuckDatabase, plan: ImportFilePlan): Promise<ImportFileResult> {
  const state = stateOf(db);
  const stage = `fabra_import_stage_${++stageCounter}`;
  const seen = `fabra_import_seen_${stageCounter}`;
  const work = async (): Promise<ImportFileResult> => {
    await loadNewest(db, state, [plan.feature]);
    try {
      const { rows, columns, runPrefix } = await db.exclusive((c) => stageFile(c, plan, stage));
      const offset = plan.format === "csv" ? 2 : 1;
      // Bad rows, in file order; their batches are not written.
      const bad = (await db.query<{ n: bigint; problem: number; ts_text: string | null; known_text: string | null }>(
        `SELECT rowid AS n, problem, ts_text, known_text FROM temp.main.${stage} WHERE problem IS NOT NULL ORDER BY rowid`,
      )).map((r) => {
        const problem = PROBLEMS[r.problem] as HistoryRowProblem;
        const text = problem === "time-format" ? r.ts_text : problem === "known-format" ? r.known_text : null;
        return { line: Number(r.n) + offset, error: historyRowProblem(problem, columns, text) };
      });
      bad.push(...(await decodeInJs(db, stage, offset)));
      bad.sort((a, b) => a.line - b.line);
      const badBatches = new Set(bad.map((b) => Math.floor((b.line - offset) / plan.batchSize)));
      // Run ids of this file already in history (an earlier import of the same file): skipped by the anti-join.
      await db.run(
        `CREATE TEMP TABLE ${seen} AS SELECT entity_id, run_id FROM fabra_feature_values WHERE feature = $1 AND starts_with(run_id, $2)`,
        [plan.feature, `${runPrefix}:`],
      );
      const knownAt = new DuckDBTimestampValue(toEpochMicros(plan.knownAt));
      const result: ImportFileResult = { rows, written: 0, batches: 0, failedBatches: 0, badRows: bad };
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

/** The file into the staging table: entity, event time, value (JSON text), known time, the problem code. */
async function stageFile(
  c: DuckDBConnection,
  plan: ImportFilePlan,
  stage: string,
): Promise<{ rows: number; columns: HistoryFileColumns; runPrefix: string }> {
  const described = await describeHistoryFile(c, historyFileReader(plan.format), plan.path);
  const names = described.map((d) => d.name);
  const { columns, runPrefix } = await plan.prepare(names);
  for (const w of [columns.entityColumn, columns.timestampColumn, columns.valueColumn, columns.knownTimeColumn])
    if (w !== undefined) missingHistoryColumn(names, w, plan.path);
  const typeOf = (name: string) => described.find((d) => d.name === name)?.type ?? "VARCHAR";
  const id = quoteId;
  const isTime = (name: string) => typeOf(name).startsWith("TIMESTAMP") || typeOf(name) === "DATE";
  const time = (name: string) =>
    isTime(name) ? `CAST(${id(name)} AS TIMESTAMP)` : `CAST(TRY_CAST(CAST(${id(name)} AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)`;
  const text = (name: string) => `CAST(${id(name)} AS VARCHAR)`;
  const value =
    plan.format === "csv"
      ? csvValueSql(id(columns.valueColumn))
      : parquetValueSql(id(columns.valueColumn), typeOf(columns.valueColumn));
  const known = columns.knownTimeColumn;
  // The problem codes, in the order the JS reader checks them (PROBLEMS).
  const problem = `CASE
      WHEN entity_id IS NULL OR entity_id = '' THEN 0
      WHEN ts_text IS NULL OR ts_text = '' THEN 1
      WHEN ts IS NULL THEN 2
      WHEN value_json IS NULL THEN 3
      ${known === undefined ? "" : "WHEN known_text IS NULL OR known_text = '' THEN 4 WHEN known IS NULL THEN 5"}
    END`;
  try {
    await c.run(
      `CREATE TEMP TABLE ${stage} AS SELECT *, ${problem} AS problem FROM (
         SELECT ${text(columns.entityColumn)} AS entity_id, ${time(columns.timestampColumn)} AS ts, ${text(columns.timestampColumn)} AS ts_text,
                ${value} AS value_json, ${text(columns.valueColumn)} AS cell,
                ${known === undefined ? "CAST(NULL AS TIMESTAMP)" : time(known)} AS known,
                ${known === undefined ? "CAST(NULL AS VARCHAR)" : text(known)} AS known_text
         FROM ${historyFileReader(plan.format)})`,
      [plan.path],
    );
  } catch (err) {
    throw historyFileReadFailed(err, plan.path);
  }
  const n = (await c.runAndReadAll(`SELECT count(*) FROM temp.main.${stage}`)).getColumnsJS()[0]?.[0];
  return { rows: Number(n ?? 0), columns, runPrefix };
}

/**
 * A CSV cell (text) as JSON text: what io/history-file.ts's csvCell gives, in SQL for the common kinds; the marker
 * IN_JS for the others (decoded in JS); NULL for an empty cell (no value).
 */
function csvValueSql(v: string): string {
  return `CASE
    WHEN ${v} IS NULL THEN NULL
    WHEN regexp_full_match(${v}, '0|-?[1-9][0-9]{0,14}') THEN ${v}
    WHEN ${v} IN ('true', 'false', 'null') THEN ${v}
    WHEN regexp_full_match(${v}, '-?(0|[1-9][0-9]{0,14})\\.[0-9]{1,15}') THEN ${v}
    WHEN NOT regexp_matches(${v}, '^\\s*[-0-9\\[{"]|^\\s*(true|false|null)\\s*$') THEN CAST(to_json(${v}) AS VARCHAR)
    ELSE '${IN_JS}'
  END`;
}

/** A Parquet column by its type, as io/history-file.ts decodes it (text as text, numbers by kind, nested as JSON). */
function parquetValueSql(v: string, type: string): string {
  let encoded: string;
  if (type === "VARCHAR") encoded = `CAST(to_json(${v}) AS VARCHAR)`;
  else if (type === "BOOLEAN") encoded = `CASE WHEN ${v} THEN 'true' ELSE 'false' END`;
  else if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(type))
    encoded = `CAST(${v} AS VARCHAR)`;
  else if (type === "DOUBLE" || type === "FLOAT" || type.startsWith("DECIMAL"))
    // A double as history keeps floats (12.0, 1e+20); NaN and infinities are left to JS (a bad row there).
    encoded = `CASE WHEN isfinite(CAST(${v} AS DOUBLE)) THEN CAST(CAST(${v} AS DOUBLE) AS VARCHAR) ELSE '${IN_JS}' END`;
  else if (/^(STRUCT|MAP|LIST|JSON)|\[\]$/.test(type)) encoded = `CAST(to_json(${v}) AS VARCHAR)`;
  else if (type.startsWith("TIMESTAMP")) encoded = `CAST(to_json(${normalForm(`CAST(${v} AS TIMESTAMP)`)}) AS VARCHAR)`;
  else encoded = `'${IN_JS}'`;
  return `CASE WHEN ${v} IS NULL THEN NULL ELSE ${encoded} END`;
}

/** Cells the SQL left to JS: decoded as the JS reader decodes them, written back; those that fail are bad rows. */
async function decodeInJs(db: DuckDatabase, stage: string, offset: number): Promise<{ line: number; error: string }[]> {
  const rows = await db.query<{ n: bigint; cell: string }>(
    `SELECT rowid AS n, cell FROM temp.main.${stage} WHERE value_json = '${IN_JS}' AND problem IS NULL`,
  );
  if (rows.length === 0) return [];
  const bad: { line: number; error: string }[] = [];
  const fixed: { n: bigint; json: string }[] = [];
  for (const r of rows) {
    try {
      fixed.push({ n: r.n, json: encodeValue(csvCell(r.cell)) });
    } catch (err) {
      bad.push({ line: Number(r.n) + offset, error: `value ${JSON.stringify(r.cell)} is not valid: ${(err as Error).message}` });
    }
  }
  await db.transaction(async (run) => {
    for (const f of fixed) await run(`UPDATE temp.main.${stage} SET value_json = $1 WHERE rowid = $2`, [f.json, f.n]);
  });
  return bad;
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
