// A file of feature values with their event times (CSV with a header, Parquet, JSON lines) read through an in-memory
// DuckDB into rows that keep each value's kind: CSV cells are JSON literals (12 → int, 12.0 → float, true, [..],
// {..}) or else text; Parquet columns by their type; JSON lines exactly as written. Bad cells are kept as row errors
// naming the file's line (CSV: header = line 1; JSON lines: line n; Parquet: row n), never thrown.
import { extname } from "node:path";
import { FabraError } from "../errors.js";
import { float, JsonFloat, parseJson, type JsonValue } from "../record/json.js";
import { normalFormMicros, toEpochMicros } from "../record/datetime.js";
import { firstLine, normalForm, quoteId } from "./duckdb-sql.js";
import { withMemoryDuckDB } from "./memory-duckdb.js";

export type HistoryFileFormat = "csv" | "parquet" | "jsonl";

export interface HistoryFileColumns {
  entityColumn: string;
  timestampColumn: string;
  valueColumn: string;
  /** When each value was known (optional; default: the import's time). */
  knownTimeColumn?: string;
}

export interface HistoryFileRow {
  /** Line of the file (CSV, JSON lines) or row number (Parquet), from 1. */
  line: number;
  entityId: string;
  /** Epoch microseconds of the event time. */
  eventMicros: bigint;
  knownMicros?: bigint;
  value: JsonValue;
}

export interface HistoryFileError {
  line: number;
  error: string;
}

export interface HistoryFile {
  format: HistoryFileFormat;
  /** The file's column names, in order. */
  columns: string[];
  rows: (HistoryFileRow | HistoryFileError)[];
}

/** The format of a history file by its extension. */
export function historyFileFormat(path: string): HistoryFileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv" || ext === ".tsv") return "csv";
  if (ext === ".parquet") return "parquet";
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return "jsonl";
  throw new FabraError("INVALID_ARGUMENT", `Cannot tell the format of ${path} from its extension`, {
    hint: "Use a .csv (with a header row), .parquet, or .jsonl / .ndjson (one JSON object per line) file.",
  });
}

/** The column names of a history file (for defaults and error messages). */
export async function historyFileColumns(path: string, format: HistoryFileFormat): Promise<string[]> {
  return withMemoryDuckDB((c) => columnNames(c, path, format));
}

async function columnNames(
  c: import("@duckdb/node-api").DuckDBConnection,
  path: string,
  format: HistoryFileFormat,
): Promise<string[]> {
  if (format === "jsonl") {
    const first = (
      await c.runAndReadAll(`SELECT json FROM read_ndjson_objects($1) LIMIT 1`, [path]).catch((err: unknown) => {
        throw historyFileReadFailed(err, path);
      })
    ).getColumnsJS()[0]?.[0];
    if (typeof first !== "string") return [];
    const obj = JSON.parse(first) as unknown;
    return obj !== null && typeof obj === "object" && !Array.isArray(obj) ? Object.keys(obj) : [];
  }
  return (await describeHistoryFile(c, historyFileReader(format), path)).map((d) => d.name);
}

/**
 * Reads every row of the file; a missing column is an INVALID_ARGUMENT naming the columns there are. `columns` may
 * be chosen from the file's column names (one in-memory database reads the header and the rows).
 */
export async function readHistoryFile(
  path: string,
  format: HistoryFileFormat,
  columnsFor: HistoryFileColumns | ((names: string[]) => HistoryFileColumns | Promise<HistoryFileColumns>),
): Promise<HistoryFile> {
  return withMemoryDuckDB(async (c) => {
    const columns =
      typeof columnsFor === "function" ? await columnsFor(await columnNames(c, path, format)) : columnsFor;
    if (format === "jsonl") return readJsonLines(c, path, columns);
    const described = await describeHistoryFile(c, historyFileReader(format), path);
    const names = described.map((d) => d.name);
    const wanted = [columns.entityColumn, columns.timestampColumn, columns.valueColumn];
    if (columns.knownTimeColumn !== undefined) wanted.push(columns.knownTimeColumn);
    for (const w of wanted) missingHistoryColumn(names, w, path);
    const typeOf = (name: string) => described.find((d) => d.name === name)?.type ?? "VARCHAR";
    const timeSql = (name: string) =>
      typeOf(name).startsWith("TIMESTAMP") || typeOf(name) === "DATE"
        ? normalForm(`CAST(${quoteId(name)} AS TIMESTAMP)`)
        : // Text is parsed as the events file's times are (io/event-file.ts); what does not parse stays text for the error.
          `coalesce(${normalForm(`CAST(TRY_CAST(${quoteId(name)} AS TIMESTAMPTZ) AS TIMESTAMP)`)}, CAST(${quoteId(name)} AS VARCHAR))`;
    const valueType = typeOf(columns.valueColumn);
    const valueSql = /^(STRUCT|MAP|LIST|JSON)|\[\]$/.test(valueType)
      ? `CAST(to_json(${quoteId(columns.valueColumn)}) AS VARCHAR)`
      : `CAST(${quoteId(columns.valueColumn)} AS VARCHAR)`;
    const select = [
      `CAST(${quoteId(columns.entityColumn)} AS VARCHAR)`,
      timeSql(columns.timestampColumn),
      valueSql,
      columns.knownTimeColumn === undefined ? "NULL" : timeSql(columns.knownTimeColumn),
    ];
    let data: unknown[][];
    try {
      data = (
        await c.runAndReadAll(`SELECT ${select.join(", ")} FROM ${historyFileReader(format)}`, [path])
      ).getColumnsJS();
    } catch (err) {
      throw historyFileReadFailed(err, path);
    }
    const [entities, times, values, knowns] = data as [
      (string | null)[],
      (string | null)[],
      (string | null)[],
      (string | null)[],
    ];
    const decodeValue = valueDecoder(format, valueType);
    const rows: (HistoryFileRow | HistoryFileError)[] = new Array(entities.length);
    const offset = format === "csv" ? 2 : 1;
    for (let i = 0; i < entities.length; i++) {
      rows[i] = toRow(i + offset, entities[i] ?? null, times[i] ?? null, values[i] ?? null, knowns[i] ?? null, {
        columns,
        decodeValue,
        known: columns.knownTimeColumn !== undefined,
      });
    }
    return { format, columns: names, rows };
  });
}

// ---------------------------------------------------------------- rows

interface RowContext {
  columns: HistoryFileColumns;
  decodeValue: (text: string) => JsonValue;
  known: boolean;
}

/** What is wrong with a row (the import on DuckDB finds them in SQL; the messages are the same). */
export type HistoryRowProblem = "entity" | "time" | "time-format" | "value" | "known" | "known-format";

export function historyRowProblem(
  problem: HistoryRowProblem,
  columns: HistoryFileColumns,
  text: string | null,
): string {
  switch (problem) {
    case "entity":
      return `no entity id in column "${columns.entityColumn}"`;
    case "time":
      return `no event time in column "${columns.timestampColumn}"`;
    case "time-format":
      return `event time ${JSON.stringify(text)} is not an ISO-8601 datetime (e.g. 2026-03-01T09:00:00Z)`;
    case "value":
      return `no value in column "${columns.valueColumn}"`;
    case "known":
      return `no known time in column "${columns.knownTimeColumn}"`;
    case "known-format":
      return `known time ${JSON.stringify(text)} is not an ISO-8601 datetime`;
  }
}

function toRow(
  line: number,
  entity: string | null,
  time: string | null,
  value: string | null,
  known: string | null,
  ctx: RowContext,
): HistoryFileRow | HistoryFileError {
  const problem = (p: HistoryRowProblem, text: string | null = null) => ({
    line,
    error: historyRowProblem(p, ctx.columns, text),
  });
  if (entity === null || entity === "") return problem("entity");
  if (time === null || time === "") return problem("time");
  const eventMicros = parseTime(time);
  if (eventMicros === null) return problem("time-format", time);
  if (value === null) return problem("value");
  let decoded: JsonValue;
  try {
    decoded = ctx.decodeValue(value);
  } catch (err) {
    return { line, error: `value ${JSON.stringify(value)} is not valid: ${firstLine(err)}` };
  }
  if (!ctx.known) return { line, entityId: entity, eventMicros, value: decoded };
  if (known === null || known === "") return problem("known");
  const knownMicros = parseTime(known);
  if (knownMicros === null) return problem("known-format", known);
  return { line, entityId: entity, eventMicros, knownMicros, value: decoded };
}

function parseTime(text: string): bigint | null {
  const fast = normalFormMicros(text);
  if (fast !== null) return fast;
  try {
    return toEpochMicros(text);
  } catch {
    return null;
  }
}

/** A value cell → its value: by column type (Parquet), or a JSON literal else text (CSV cells are all text). */
function valueDecoder(format: HistoryFileFormat, type: string): (text: string) => JsonValue {
  if (format === "csv") return csvCell;
  if (type === "VARCHAR") return (t) => t;
  if (type === "BOOLEAN") return (t) => t === "true";
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(type))
    return (t) => BigInt(t);
  if (type === "DOUBLE" || type === "FLOAT" || type.startsWith("DECIMAL")) return (t) => float(Number(t));
  return (t) => parseJson(t, "value");
}

const JSON_START = /^\s*[-0-9[{]|^\s*(true|false|null)\s*$|^\s*"/;

/** A CSV cell: a JSON literal (number, boolean, null, array, object, "quoted text") as that; anything else as text. */
export function csvCell(text: string): JsonValue {
  if (!JSON_START.test(text)) return text;
  try {
    return parseJson(text, "value");
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------- JSON lines

async function readJsonLines(
  c: import("@duckdb/node-api").DuckDBConnection,
  path: string,
  columns: HistoryFileColumns,
): Promise<HistoryFile> {
  let lines: unknown[];
  try {
    lines = (await c.runAndReadAll(`SELECT json FROM read_ndjson_objects($1)`, [path])).getColumnsJS()[0] ?? [];
  } catch (err) {
    throw historyFileReadFailed(err, path);
  }
  const seen = new Set<string>();
  const rows: (HistoryFileRow | HistoryFileError)[] = lines.map((text, i) => {
    const line = i + 1;
    let obj: JsonValue;
    try {
      obj = parseJson(String(text), `line ${line}`);
    } catch (err) {
      return { line, error: firstLine(err) };
    }
    if (obj === null || typeof obj !== "object" || Array.isArray(obj) || obj instanceof JsonFloat)
      return { line, error: "not a JSON object" };
    const record = obj as Record<string, JsonValue>;
    for (const k of Object.keys(record)) seen.add(k);
    const text2 = (v: JsonValue | undefined): string | null =>
      typeof v === "string" ? v : typeof v === "bigint" || typeof v === "number" ? String(v) : null;
    const value = record[columns.valueColumn];
    return toRow(
      line,
      text2(record[columns.entityColumn]),
      text2(record[columns.timestampColumn]),
      value === undefined ? null : "",
      columns.knownTimeColumn === undefined ? null : text2(record[columns.knownTimeColumn]),
      { columns, decodeValue: () => value as JsonValue, known: columns.knownTimeColumn !== undefined },
    );
  });
  return { format: "jsonl", columns: [...seen], rows };
}

// ---------------------------------------------------------------- files

export function historyFileReader(format: "csv" | "parquet"): string {
  return format === "csv" ? "read_csv($1, header = true, all_varchar = true)" : "read_parquet($1)";
}

export async function describeHistoryFile(
  c: import("@duckdb/node-api").DuckDBConnection,
  from: string,
  path: string,
): Promise<{ name: string; type: string }[]> {
  try {
    const rows = (await c.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`, [path])).getRowObjectsJS() as {
      column_name: string;
      column_type: string;
    }[];
    return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
  } catch (err) {
    throw historyFileReadFailed(err, path);
  }
}

export function missingHistoryColumn(names: string[], name: string, path: string): void {
  if (names.includes(name)) return;
  throw new FabraError("INVALID_ARGUMENT", `${path} has no column "${name}"`, {
    hint: `Its columns: ${names.join(", ") || "(none)"}. Name the columns with --entity-column, --timestamp-column and --value-column.`,
  });
}

export function historyFileReadFailed(err: unknown, path: string): FabraError {
  if (err instanceof FabraError) return err;
  const message = firstLine(err);
  if (/No files found|Cannot open file|No such file/i.test(message))
    return new FabraError("FILE_NOT_FOUND", `No such file: ${path}`, {
      hint: "Check the path (relative paths start at the current directory).",
    });
  return new FabraError("INVALID_ARGUMENT", `Cannot read ${path}: ${message}`, {
    hint: "A history file is a CSV with a header row, a Parquet file, or JSON lines (one object per line).",
    cause: err,
  });
}
