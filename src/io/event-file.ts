// Events files (a CSV with a header row, or Parquet) as DuckDB reads them: their columns, the relation the
// point-in-time join reads (entity id as text, event time parsed and checked, one error per bad row), and the rows
// themselves for offline stores that do not read files. The DuckDB store joins against `eventRelation` directly.
import { basename } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { FabraError } from "../errors.js";
import type { PitEventFile } from "../stores/types.js";
import { csvFileProblem, csvHeaderNames } from "./csv-problem.js";
import { firstLine, normalForm, quoteId, quoteText } from "./duckdb-sql.js";
import { withMemoryDuckDB } from "./memory-duckdb.js";

export type EventFileFormat = PitEventFile["format"];

/** A column of an events file with its DuckDB type. */
export interface EventColumn {
  name: string;
  type: string;
}

/** The SQL over an events file: `source` has the file's columns plus `__fabra_rn`, `__fabra_entity`, `__fabra_ts`. */
export interface EventRelation {
  columns: EventColumn[];
  /** Reads the file given as parameter $1. */
  source: string;
  /** The file's columns as the caller gets them (datetimes as normal-form text), over `source` aliased `e`. */
  select: string[];
}

/** RFC 4180 CSV, as read-csv.ts reads it: the sniffer only guesses column types, never the dialect. */
const CSV_DIALECT = `header = true, delim = ',', quote = '"', escape = '"'`;
const plainReader = (format: EventFileFormat) =>
  format === "csv" ? `read_csv($1, ${CSV_DIALECT})` : `read_parquet($1)`;

/** The columns of an events file, in file order (only its header / schema is read). */
export async function describeEventFile(
  c: DuckDBConnection,
  path: string,
  format: EventFileFormat,
): Promise<EventColumn[]> {
  let described: Record<string, unknown>[];
  try {
    described = (await c.runAndReadAll(`DESCRIBE SELECT * FROM ${plainReader(format)}`, [path])).getRowObjectsJS();
  } catch (err) {
    throw await csvAwareError(err, path, format);
  }
  const columns = described.map((d) => ({ name: String(d.column_name), type: String(d.column_type) }));
  // A malformed row can make DuckDB's sniffer take another row for the header: then say which row is wrong.
  if (format === "csv") {
    const header = await csvHeaderNames(path);
    if (header && header.join("\u0000") !== columns.map((d) => d.name).join("\u0000")) {
      const error = await csvAwareError(new Error("the header row was not read as the header"), path, format);
      if (error.code === "INVALID_ARGUMENT") throw error;
    }
  }
  return columns;
}

/** The column names of an events file, in file order; an in-memory DuckDB reads them, whatever the stores. */
export async function eventFileColumns(path: string, format: EventFileFormat): Promise<string[]> {
  return withMemoryDuckDB(async (c) => (await describeEventFile(c, path, format)).map((d) => d.name));
}

/**
 * The relation the join reads. Fails first when the file lacks the entity or timestamp column, or already has a
 * column named like one of `featureNames` (the columns the join adds).
 */
export function eventRelation(file: PitEventFile, columns: EventColumn[], featureNames: string[]): EventRelation {
  const name = basename(file.path);
  const names = columns.map((d) => d.name);
  for (const [flag, column] of [
    ["entity", file.entityColumn],
    ["timestamp", file.timestampColumn],
  ] as const) {
    if (!names.includes(column)) {
      throw new FabraError(
        "INVALID_ARGUMENT",
        `${name} has no ${flag} column "${column}" (its columns: ${names.join(", ")})`,
        {
          hint: `Name the column with --${flag}-column (${flag}Column in getTrainingData).`,
        },
      );
    }
  }
  for (const feature of featureNames) {
    if (names.includes(feature)) {
      throw new FabraError(
        "INVALID_ARGUMENT",
        `${name} already has a column "${feature}", the name of a requested feature`,
        {
          hint: "Rename that column in the events file; feature values are added as columns named after the features.",
        },
      );
    }
  }
  // CSV: the entity and timestamp columns are read as text, so "007" stays "007" and every timestamp is parsed one way.
  const reader =
    file.format === "csv"
      ? `read_csv($1, ${CSV_DIALECT}, types = {${[file.entityColumn, file.timestampColumn].map((col) => `${quoteText(col)}: 'VARCHAR'`).join(", ")}})`
      : plainReader(file.format);
  const tsType =
    file.format === "csv" ? "VARCHAR" : (columns.find((d) => d.name === file.timestampColumn) as EventColumn).type;
  const ts = quoteId(file.timestampColumn);
  const where = (what: string) =>
    `'${name.replace(/'/g, "''")} row ' || (__fabra_rn + 1) || ': ${what.replace(/'/g, "''")}'`;
  const parsed = timestampExpression(ts, tsType, name, file.timestampColumn);
  const entity = quoteId(file.entityColumn);
  const source = `WITH raw AS (SELECT row_number() OVER () - 1 AS __fabra_rn, * FROM ${reader})
      SELECT *,
        CASE WHEN ${entity} IS NULL THEN error(${where(`the entity column "${file.entityColumn}" is empty`)}) ELSE CAST(${entity} AS VARCHAR) END AS __fabra_entity,
        CASE WHEN ${ts} IS NULL THEN error(${where(`the timestamp column "${file.timestampColumn}" is empty`)})
             WHEN ${parsed} IS NULL THEN error(${where(`"`)} || CAST(${ts} AS VARCHAR) || ${quoteText(`" in column "${file.timestampColumn}" is not a datetime`)})
             ELSE ${parsed} END AS __fabra_ts
      FROM raw`;
  const select = columns.map((d) =>
    d.name === file.timestampColumn
      ? `${normalForm("e.__fabra_ts")} AS ${quoteId(d.name)}`
      : `${outputExpression(`e.${quoteId(d.name)}`, d.type)} AS ${quoteId(d.name)}`,
  );
  return { columns, source, select };
}

/**
 * The rows of an events file, in file order, as the DuckDB store's join reads them (same parsing, types and
 * per-row errors), for offline stores that do not read files themselves.
 */
export async function readEventFile(
  file: PitEventFile,
  featureNames: string[] = [],
): Promise<Record<string, unknown>[]> {
  return withMemoryDuckDB(async (c) => {
    const relation = eventRelation(file, await describeEventFile(c, file.path, file.format), featureNames);
    // The entity column is selected too, so an empty one fails here as it does in the join.
    const sql = `SELECT ${relation.select.join(", ")}, e.__fabra_entity FROM (${relation.source}) e ORDER BY e.__fabra_rn`;
    let columns: unknown[][];
    try {
      columns = (await c.runAndReadAll(sql, [file.path])).getColumnsJS() as unknown[][];
    } catch (err) {
      throw await csvAwareError(err, file.path, file.format);
    }
    return rowObjects(
      relation.columns.map((d) => d.name),
      columns.slice(0, relation.columns.length),
    );
  });
}

/** A driver error on a CSV file, naming the first malformed line when there is one. */
export async function csvAwareError(err: unknown, path: string, format: EventFileFormat): Promise<FabraError> {
  if (format === "csv" && !(err instanceof FabraError)) {
    const found = await csvFileProblem(path);
    if (found) {
      return new FabraError("INVALID_ARGUMENT", `${basename(path)} line ${found.line}: ${found.problem}`, {
        hint: 'Fix that line: CSV with a header row, every row with as many fields; a field holding a comma, a quote or a line break goes in double quotes, with quotes doubled ("").',
        cause: err,
      });
    }
  }
  return eventFileError(err, path);
}

/** Offsets CRS-001 refuses (hours over 23, minutes over 59) after a time of day: DuckDB would accept them. */
const BAD_OFFSET = String.raw`':[0-9]{2}([.,][0-9]+)?\s*[+-]((2[4-9]|[3-9][0-9])(:?[0-9]{2})?|[0-9]{2}:?[6-9][0-9])\s*$'`;

/** The event time as TIMESTAMP (UTC; the connection's TimeZone is UTC) or NULL when it does not parse. */
function timestampExpression(col: string, type: string, file: string, column: string): string {
  if (type === "VARCHAR") {
    return `CASE WHEN regexp_matches(${col}, ${BAD_OFFSET}) THEN NULL ELSE CAST(TRY_CAST(${col} AS TIMESTAMPTZ) AS TIMESTAMP) END`;
  }
  if (type === "DATE" || type.startsWith("TIMESTAMP")) return `CAST(${col} AS TIMESTAMP)`;
  throw new FabraError("INVALID_ARGUMENT", `The timestamp column "${column}" of ${file} is ${type}, not a datetime`, {
    hint: "Store event times as timestamps or ISO-8601 text (e.g. 2026-03-01T09:15:02Z); epoch numbers are ambiguous.",
  });
}

/** Event columns as the caller gets them: datetimes as normal-form text, dates as YYYY-MM-DD, decimals as doubles. */
function outputExpression(col: string, type: string): string {
  if (type.startsWith("TIMESTAMP")) return normalForm(`CAST(${col} AS TIMESTAMP)`);
  if (type === "DATE") return `strftime(${col}, '%Y-%m-%d')`;
  if (type.startsWith("DECIMAL")) return `CAST(${col} AS DOUBLE)`;
  if (type.startsWith("TIME") || type === "INTERVAL") return `CAST(${col} AS VARCHAR)`;
  return col;
}

/** A driver error reading an events file, as the FabraError the user sees (a bad row names the row). */
export function eventFileError(err: unknown, path: string): FabraError {
  if (err instanceof FabraError) return err;
  const message = firstLine(err);
  if (/No files found|Cannot open file|No such file/i.test(message)) {
    return new FabraError("FILE_NOT_FOUND", `No such events file: ${path}`, {
      hint: "Check the path (relative paths start at the current directory).",
    });
  }
  const input = /^Invalid Input Error: (.*)$/.exec(message);
  if (input)
    return new FabraError("INVALID_ARGUMENT", input[1] as string, {
      hint: "Fix that row of the events file.",
      cause: err,
    });
  return new FabraError("FILE_UNREADABLE", `Cannot read events from ${path}: ${message}`, {
    hint: "Events are a CSV file with a header row, or a Parquet file.",
    cause: err,
  });
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Columns (as DuckDB returns them) as row objects; whole numbers within 2^53 as numbers, larger ones as bigints. */
export function rowObjects(names: string[], columns: unknown[][]): Record<string, unknown>[] {
  const n = columns[0]?.length ?? 0;
  for (const col of columns) {
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (typeof v === "bigint" && v >= MIN_SAFE && v <= MAX_SAFE) col[i] = Number(v);
    }
  }
  const rows: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) row[names[c] as string] = (columns[c] as unknown[])[i];
    rows[i] = row;
  }
  return rows;
}
