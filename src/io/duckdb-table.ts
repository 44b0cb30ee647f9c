// Rows in memory as a table of an in-memory DuckDB, ready for `COPY ... TO`: for Parquet each column typed by its
// values (booleans, whole numbers as BIGINT, numbers as DOUBLE, text, the named datetime columns as TIMESTAMP; a
// column mixing kinds, or holding objects/arrays, is JSON text); for CSV every column as the text of its cells.
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import { encodeValue, toJsonValue } from "../record/values.js";
import { toEpochMicros } from "../record/datetime.js";
import { quoteId } from "./duckdb-sql.js";
import type { DuckDriver } from "./memory-duckdb.js";

/** Rows with their columns, in order (a row's other keys are not written). */
export interface Table {
  columns: string[];
  rows: Record<string, unknown>[];
}

type Kind = "BOOLEAN" | "BIGINT" | "DOUBLE" | "VARCHAR" | "TIMESTAMP" | "JSON" | "TEXT";

/** Creates table `name` holding `table`: typed columns (`typed`, for Parquet) or all text (for CSV). */
export async function loadTable(
  c: DuckDBConnection,
  duck: DuckDriver,
  name: string,
  table: Table,
  typed: { datetimeColumns: string[] } | null,
): Promise<void> {
  const kinds: Kind[] = table.columns.map((col) =>
    typed
      ? kindOf(
          table.rows.map((r) => r[col]),
          typed.datetimeColumns.includes(col),
        )
      : "TEXT",
  );
  const sqlType = (k: Kind) => (k === "JSON" || k === "TEXT" ? "VARCHAR" : k);
  await c.run(
    `CREATE TABLE ${quoteId(name)} (${table.columns.map((col, i) => `${quoteId(col)} ${sqlType(kinds[i] as Kind)}`).join(", ")})`,
  );
  const appender = await c.createAppender(name);
  try {
    for (const row of table.rows) {
      for (let i = 0; i < table.columns.length; i++)
        append(appender, duck, kinds[i] as Kind, row[table.columns[i] as string]);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** A CSV cell's text: objects and arrays as canonical JSON (integers beyond 2^53 exact), Dates as ISO-8601. */
export function cellText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Date) return value.toISOString();
  return encodeValue(toJsonValue(value, "a CSV field"));
}

function kindOf(values: unknown[], datetime: boolean): Kind {
  let kind: Kind | null = null;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const k: Kind =
      datetime && typeof v === "string"
        ? "TIMESTAMP"
        : typeof v === "boolean"
          ? "BOOLEAN"
          : typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v))
            ? "BIGINT"
            : typeof v === "number"
              ? "DOUBLE"
              : typeof v === "string"
                ? "VARCHAR"
                : "JSON";
    if (kind === null) kind = k;
    else if (kind !== k) {
      if ((kind === "BIGINT" && k === "DOUBLE") || (kind === "DOUBLE" && k === "BIGINT")) kind = "DOUBLE";
      else return "JSON";
    }
  }
  return kind ?? "VARCHAR";
}

const jsonText = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));

function append(appender: DuckDBAppender, duck: DuckDriver, kind: Kind, v: unknown): void {
  if (v === null || v === undefined) appender.appendNull();
  else if (kind === "BOOLEAN") appender.appendBoolean(v as boolean);
  else if (kind === "BIGINT") appender.appendBigInt(BigInt(v as number | bigint));
  else if (kind === "DOUBLE") appender.appendDouble(Number(v));
  else if (kind === "TIMESTAMP") appender.appendTimestamp(new duck.DuckDBTimestampValue(toEpochMicros(v as string)));
  else if (kind === "VARCHAR") appender.appendVarchar(v as string);
  else if (kind === "JSON") appender.appendVarchar(jsonText(v));
  else appender.appendVarchar(cellText(v));
}
