// The point-in-time join on DuckDB: one ASOF LEFT JOIN per feature against its history, events either appended
// from memory or read straight from a CSV/Parquet file by DuckDB (no round trip through JS).
// Ties on computed_at go to the greatest run_id: for a feature whose history has ties (duckdb-write.ts tracks it) the
// join key is the struct (computed_at, run_id) and an event's key is (its time, a string above every run id), so a
// value at exactly the event's time is still visible; other features join on computed_at alone (cheaper).
import { basename } from "node:path";
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { DuckDBInstance, DuckDBTimestampValue } from "./driver.js";
import { FabraError } from "../../errors.js";
import type { DuckDatabase } from "./database.js";
import { checkPitFeatures, checkPitKeys, emptyPitResult } from "../offline-history.js";
import type { PitEventFile, PitEventKeys, PitFeature, PitOptions, PitResult } from "../types.js";
import { epochMicros, featuresWithTies } from "./offline-write.js";

const quoteId = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteText = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** A TIMESTAMP expression as CRS-001 normal-form text (fraction only when not zero). */
const normalForm = (x: string) =>
  `CASE WHEN epoch_us(${x}) % 1000000 = 0 THEN strftime(${x}, '%Y-%m-%dT%H:%M:%SZ') ELSE strftime(${x}, '%Y-%m-%dT%H:%M:%S.%fZ') END`;

let tableCounter = 0;

export async function pointInTime(db: DuckDatabase, events: PitEventKeys | PitEventFile, features: PitFeature[], options: PitOptions): Promise<PitResult> {
  checkPitFeatures(features);
  return events.kind === "keys" ? joinKeys(db, events, features, options) : joinFile(db, events, features, options);
}

// ---------------------------------------------------------------- events from memory

async function joinKeys(db: DuckDatabase, events: PitEventKeys, features: PitFeature[], options: PitOptions): Promise<PitResult> {
  const n = checkPitKeys(events);
  if (n === 0 || features.length === 0) return emptyPitResult(n, features.length, options);
  const micros = events.timestamps.map(epochMicros);
  const table = `fabra_pit_events_${++tableCounter}`;
  return db.exclusive(async (c) => {
    await c.run(`CREATE TEMP TABLE ${table} (rn INTEGER, entity_id VARCHAR, ts TIMESTAMP)`);
    try {
      const appender = await c.createAppender(table, "main", "temp");
      try {
        for (let i = 0; i < n; i++) {
          appender.appendInteger(i);
          appender.appendVarchar(events.entityIds[i] as string);
          appender.appendTimestamp(new DuckDBTimestampValue(micros[i] as bigint));
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      const source = `SELECT rn AS __fabra_rn, entity_id AS __fabra_entity, ts AS __fabra_ts FROM temp.main.${table}`;
      const columns = await runJoin(c, source, [], features, options, []);
      return splitResult(columns, 0, features.length, options);
    } finally {
      await c.run(`DROP TABLE IF EXISTS temp.main.${table}`);
    }
  });
}

// ---------------------------------------------------------------- events from a file

interface Described {
  column_name: string;
  column_type: string;
}

async function joinFile(db: DuckDatabase, events: PitEventFile, features: PitFeature[], options: PitOptions): Promise<PitResult> {
  const name = basename(events.path);
  return db.exclusive(async (c) => {
    const plain = events.format === "csv" ? `read_csv($1, header = true)` : `read_parquet($1)`;
    const described = (await readFileOrFail(c, `DESCRIBE SELECT * FROM ${plain}`, events.path)).getRowObjectsJS() as unknown as Described[];
    const columns = described.map((d) => d.column_name);
    for (const [flag, column] of [["entity", events.entityColumn], ["timestamp", events.timestampColumn]] as const) {
      if (!columns.includes(column)) {
        throw new FabraError("INVALID_ARGUMENT", `${name} has no ${flag} column "${column}" (its columns: ${columns.join(", ")})`, {
          hint: `Name the column with --${flag}-column (${flag}Column in getTrainingData).`,
        });
      }
    }
    for (const f of features) {
      if (columns.includes(f.name)) {
        throw new FabraError("INVALID_ARGUMENT", `${name} already has a column "${f.name}", the name of a requested feature`, {
          hint: "Rename that column in the events file; feature values are added as columns named after the features.",
        });
      }
    }
    // CSV: the entity and timestamp columns are read as text, so "007" stays "007" and every timestamp is parsed one way.
    const reader =
      events.format === "csv"
        ? `read_csv($1, header = true, types = {${[events.entityColumn, events.timestampColumn].map((col) => `${quoteText(col)}: 'VARCHAR'`).join(", ")}})`
        : plain;
    const tsType = events.format === "csv" ? "VARCHAR" : (described.find((d) => d.column_name === events.timestampColumn) as Described).column_type;
    const ts = quoteId(events.timestampColumn);
    const where = (what: string) => `'${name.replace(/'/g, "''")} row ' || (__fabra_rn + 1) || ': ${what.replace(/'/g, "''")}'`;
    const parsed = timestampExpression(ts, tsType, name, events.timestampColumn);
    const entity = quoteId(events.entityColumn);
    const source = `WITH raw AS (SELECT row_number() OVER () - 1 AS __fabra_rn, * FROM ${reader})
      SELECT *,
        CASE WHEN ${entity} IS NULL THEN error(${where(`the entity column "${events.entityColumn}" is empty`)}) ELSE CAST(${entity} AS VARCHAR) END AS __fabra_entity,
        CASE WHEN ${ts} IS NULL THEN error(${where(`the timestamp column "${events.timestampColumn}" is empty`)})
             WHEN ${parsed} IS NULL THEN error(${where(`"`)} || CAST(${ts} AS VARCHAR) || ${quoteText(`" in column "${events.timestampColumn}" is not a datetime`)})
             ELSE ${parsed} END AS __fabra_ts
      FROM raw`;
    const eventSelect = described.map((d) =>
      d.column_name === events.timestampColumn ? `${normalForm("e.__fabra_ts")} AS ${quoteId(d.column_name)}` : `${outputExpression(`e.${quoteId(d.column_name)}`, d.column_type)} AS ${quoteId(d.column_name)}`,
    );
    let result: unknown[][];
    try {
      result = await runJoin(c, source, [events.path], features, options, eventSelect);
    } catch (err) {
      throw fileError(err, events.path);
    }
    const rows = toRowObjects(columns, result.slice(0, columns.length));
    return { ...splitResult(result, columns.length, features.length, options), events: rows };
  });
}

/** The event time as TIMESTAMP (UTC; this connection's TimeZone is UTC) or NULL when it does not parse. */
function timestampExpression(col: string, type: string, file: string, column: string): string {
  if (type === "VARCHAR") return `CAST(TRY_CAST(${col} AS TIMESTAMPTZ) AS TIMESTAMP)`;
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

/** The column names of an events file, in file order (an in-memory DuckDB reads only its header / schema). */
export async function eventFileColumns(path: string, format: PitEventFile["format"]): Promise<string[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    const plain = format === "csv" ? `read_csv($1, header = true)` : `read_parquet($1)`;
    return ((await readFileOrFail(c, `DESCRIBE SELECT * FROM ${plain}`, path)).getRowObjectsJS() as unknown as Described[]).map((d) => d.column_name);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

async function readFileOrFail(c: DuckDBConnection, sql: string, path: string) {
  try {
    return await c.runAndReadAll(sql, [path]);
  } catch (err) {
    throw fileError(err, path);
  }
}

function fileError(err: unknown, path: string): FabraError {
  if (err instanceof FabraError) return err;
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
  if (/No files found|Cannot open file|No such file/i.test(message)) {
    return new FabraError("FILE_NOT_FOUND", `No such events file: ${path}`, { hint: "Check the path (relative paths start at the current directory)." });
  }
  const input = /^Invalid Input Error: (.*)$/.exec(message);
  if (input) return new FabraError("INVALID_ARGUMENT", input[1] as string, { hint: "Fix that row of the events file.", cause: err });
  return new FabraError("FILE_UNREADABLE", `Cannot read events from ${path}: ${message}`, {
    hint: "Events are a CSV file with a header row, or a Parquet file.",
    cause: err,
  });
}

// ---------------------------------------------------------------- the join

async function runJoin(
  c: DuckDBConnection,
  source: string,
  sourceParams: DuckDBValue[],
  features: PitFeature[],
  options: PitOptions,
  eventSelect: string[],
): Promise<unknown[][]> {
  const params: DuckDBValue[] = [...sourceParams];
  const param = (v: DuckDBValue) => {
    params.push(v);
    return `$${params.length}`;
  };
  const tied = await featuresWithTies(c, features.map((f) => f.name));
  const ctes = [`e AS (SELECT *${tied.size > 0 ? `, {'t': __fabra_ts, 'r': chr(1114111)} AS __fabra_k` : ""} FROM (${source}))`];
  const select = [...eventSelect];
  const joins: string[] = [];
  features.forEach((f, i) => {
    const byRun = tied.has(f.name);
    ctes.push(
      `h${i} AS (SELECT entity_id, ${byRun ? "{'t': computed_at, 'r': run_id}" : "computed_at"} AS k, computed_at, value_json FROM fabra_feature_values WHERE feature = ${param(f.name)})`,
    );
    const fresh = f.maxAgeMs === undefined ? `h${i}.k IS NOT NULL` : `h${i}.computed_at >= e.__fabra_ts - to_microseconds(CAST(${param(BigInt(Math.round(f.maxAgeMs * 1000)))} AS BIGINT))`;
    select.push(`CASE WHEN ${fresh} THEN h${i}.value_json END`);
    if (options.includeComputedAt) select.push(`CASE WHEN ${fresh} THEN ${normalForm(`h${i}.computed_at`)} END`);
    joins.push(`ASOF LEFT JOIN h${i} ON e.__fabra_entity = h${i}.entity_id AND ${byRun ? "e.__fabra_k" : "e.__fabra_ts"} >= h${i}.k`);
  });
  // No ORDER BY: the event's position comes back as the last column and the rows are put in place in JS (cheaper).
  select.push("CAST(e.__fabra_rn AS INTEGER)");
  const sql = `WITH ${ctes.join(",\n")}\nSELECT ${select.join(", ")} FROM e ${joins.join(" ")}`;
  const columns = (await c.runAndReadAll(sql, params)).getColumnsJS() as unknown[][];
  const position = columns.pop() as number[];
  return columns.map((col) => {
    const ordered = new Array<unknown>(col.length);
    for (let i = 0; i < col.length; i++) ordered[position[i] as number] = col[i];
    return ordered;
  });
}

function splitResult(columns: unknown[][], offset: number, featureCount: number, options: PitOptions): PitResult {
  const per = options.includeComputedAt ? 2 : 1;
  const values: (string | null)[][] = [];
  const computedAt: (string | null)[][] = [];
  for (let f = 0; f < featureCount; f++) {
    values.push(columns[offset + f * per] as (string | null)[]);
    if (options.includeComputedAt) computedAt.push(columns[offset + f * per + 1] as (string | null)[]);
  }
  return options.includeComputedAt ? { values, computedAt } : { values };
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function toRowObjects(names: string[], columns: unknown[][]): Record<string, unknown>[] {
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
