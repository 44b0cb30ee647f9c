// A history file staged in a DuckDB database (the DuckDB store's own, or an in-memory one for Postgres): one row per
// line in file order (rowid), checked in SQL — each row's problem is a code, and only bad rows come back to JS, with
// their line — and its values encoded in SQL by kind, as io/history-file.ts decodes them: a CSV cell that is an
// integer, a decimal, true/false/null is that JSON literal, a cell that cannot start JSON is text, and the rare rest
// (arrays, objects, quoted strings, exponents, big integers, surrounding whitespace) is decoded in JS by the same
// csvCell and written back; Parquet columns by their type. Nothing of a row goes through JS otherwise.
import type { DuckDBConnection } from "@duckdb/node-api";
import { encodeValue } from "../record/values.js";
import { normalForm, quoteId } from "./duckdb-sql.js";
import {
  csvCell,
  type HistoryFileColumns,
  historyFileReader,
  historyFileReadFailed,
  type HistoryRowProblem,
  historyRowProblem,
  missingHistoryColumn,
} from "./history-file.js";

const PROBLEMS: HistoryRowProblem[] = ["entity", "time", "time-format", "value", "known", "known-format"];
/** A value the SQL could not encode, to decode in JS (CSV cells of a JSON kind the patterns do not cover). */
const IN_JS = "fabra:decode-in-js"; // never JSON text, so never a real encoded value

export interface StageRequest {
  path: string;
  format: "csv" | "parquet";
  /** The columns to read (and a run id prefix) once the file's column names are known. */
  prepare(names: string[]): Promise<{ columns: HistoryFileColumns; runPrefix: string }>;
}

export interface StagedHistoryFile {
  rows: number;
  columns: HistoryFileColumns;
  runPrefix: string;
  /** A row's line is its rowid + offset (CSV: 2, the header is line 1; Parquet: 1). */
  offset: number;
  /** Bad rows with their line, in file order. */
  badRows: { line: number; error: string }[];
}

/**
 * The file into temp table `stage` (entity_id, ts TIMESTAMP, value_json, known TIMESTAMP, problem), its bad rows
 * found. The caller drops the table.
 */
export async function stageHistoryFile(
  c: DuckDBConnection,
  request: StageRequest,
  stage: string,
): Promise<StagedHistoryFile> {
  const { rows, columns, runPrefix } = await stageFile(c, request, stage);
  const offset = request.format === "csv" ? 2 : 1;
  const bad = (
    (
      await c.runAndReadAll(
        `SELECT rowid AS n, problem, ts_text, known_text FROM temp.main.${stage} WHERE problem IS NOT NULL ORDER BY rowid`,
      )
    ).getRowObjectsJS() as { n: bigint; problem: number; ts_text: string | null; known_text: string | null }[]
  ).map((r) => {
    const problem = PROBLEMS[r.problem] as HistoryRowProblem;
    const text = problem === "time-format" ? r.ts_text : problem === "known-format" ? r.known_text : null;
    return { line: Number(r.n) + offset, error: historyRowProblem(problem, columns, text) };
  });
  bad.push(...(await decodeInJs(c, stage, offset, request.format)));
  bad.sort((a, b) => a.line - b.line);
  return { rows, columns, runPrefix, offset, badRows: bad };
}

/** The batches (rowid / batchSize) holding a bad row: none of their rows is written. */
export function failedBatches(staged: StagedHistoryFile, batchSize: number): Set<number> {
  return new Set(staged.badRows.map((b) => Math.floor((b.line - staged.offset) / batchSize)));
}

/** The file into the staging table: entity, event time, value (JSON text), known time, the problem code. */
async function stageFile(
  c: DuckDBConnection,
  plan: StageRequest,
  stage: string,
): Promise<{ rows: number; columns: HistoryFileColumns; runPrefix: string }> {
  // The file is read (and a CSV's dialect sniffed) once, into a temp table the checks then scan.
  const file = `${stage}_file`;
  try {
    await c.run(`CREATE TEMP TABLE ${file} AS SELECT * FROM ${historyFileReader(plan.format)}`, [plan.path]);
  } catch (err) {
    throw historyFileReadFailed(err, plan.path);
  }
  try {
    return await checkFile(c, plan, stage, file);
  } finally {
    await c.run(`DROP TABLE IF EXISTS temp.main.${file}`);
  }
}

/** The staging table from the file's temp table: the columns chosen, each row's problem code. */
async function checkFile(
  c: DuckDBConnection,
  plan: StageRequest,
  stage: string,
  file: string,
): Promise<{ rows: number; columns: HistoryFileColumns; runPrefix: string }> {
  const described = (
    (await c.runAndReadAll(`DESCRIBE temp.main.${file}`)).getRowObjectsJS() as {
      column_name: string;
      column_type: string;
    }[]
  ).map((r) => ({ name: r.column_name, type: r.column_type }));
  const names = described.map((d) => d.name);
  const { columns, runPrefix } = await plan.prepare(names);
  for (const w of [columns.entityColumn, columns.timestampColumn, columns.valueColumn, columns.knownTimeColumn])
    if (w !== undefined) missingHistoryColumn(names, w, plan.path);
  const typeOf = (name: string) => described.find((d) => d.name === name)?.type ?? "VARCHAR";
  const id = quoteId;
  const isTime = (name: string) => typeOf(name).startsWith("TIMESTAMP") || typeOf(name) === "DATE";
  const time = (name: string) =>
    isTime(name)
      ? `CAST(${id(name)} AS TIMESTAMP)`
      : `CAST(TRY_CAST(CAST(${id(name)} AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)`;
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
  await c.run(
    `CREATE TEMP TABLE ${stage} AS SELECT *, ${problem} AS problem FROM (
       SELECT ${text(columns.entityColumn)} AS entity_id, ${time(columns.timestampColumn)} AS ts, ${text(columns.timestampColumn)} AS ts_text,
              ${value} AS value_json, ${text(columns.valueColumn)} AS cell,
              ${known === undefined ? "CAST(NULL AS TIMESTAMP)" : time(known)} AS known,
              ${known === undefined ? "CAST(NULL AS VARCHAR)" : text(known)} AS known_text
       FROM temp.main.${file})`,
  );
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

/**
 * Cells the SQL left to JS: a CSV cell is decoded as the JS reader decodes it (csvCell: a JSON literal, else text)
 * and written back (through an appender and one UPDATE, however many there are); a Parquet value the SQL could not
 * encode (NaN, infinities, other types) is a bad row, as in the JS reader.
 */
async function decodeInJs(
  c: DuckDBConnection,
  stage: string,
  offset: number,
  format: "csv" | "parquet",
): Promise<{ line: number; error: string }[]> {
  const rows = (
    await c.runAndReadAll(
      `SELECT rowid AS n, cell FROM temp.main.${stage} WHERE value_json = '${IN_JS}' AND problem IS NULL`,
    )
  ).getRowObjectsJS() as { n: bigint; cell: string }[];
  if (rows.length === 0) return [];
  const bad: { line: number; error: string }[] = [];
  const fixed: { n: bigint; json: string }[] = [];
  for (const r of rows) {
    try {
      if (format === "parquet") throw new Error("not a finite number, text, a boolean or a JSON value");
      fixed.push({ n: r.n, json: encodeValue(csvCell(r.cell)) });
    } catch (err) {
      bad.push({
        line: Number(r.n) + offset,
        error: `value ${JSON.stringify(r.cell)} is not valid: ${(err as Error).message}`,
      });
    }
  }
  if (fixed.length > 0) {
    const fixes = `${stage}_fixes`;
    await c.run(`CREATE TEMP TABLE ${fixes} (n BIGINT, v VARCHAR)`);
    try {
      const appender = await c.createAppender(fixes, "main", "temp");
      try {
        for (const f of fixed) {
          appender.appendBigInt(f.n);
          appender.appendVarchar(f.json);
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      await c.run(
        // Temp tables are found first by their bare (unique) names.
        `UPDATE ${stage} SET value_json = x.v FROM ${fixes} AS x WHERE ${stage}.rowid = x.n`,
      );
    } finally {
      await c.run(`DROP TABLE IF EXISTS temp.main.${fixes}`);
    }
  }
  return bad;
}
