// Writing rows to a Parquet file with an in-memory DuckDB (used by `fabra training-data -o x.parquet` whatever the
// configured stores). Column types follow the values: booleans, whole numbers (BIGINT), numbers (DOUBLE), text, and
// the named datetime columns as TIMESTAMP; a column mixing kinds, or holding objects/arrays, is JSON text.
import { DuckDBInstance, DuckDBTimestampValue, type DuckDBAppender } from "@duckdb/node-api";
import { FabraError } from "../errors.js";
import { toEpochMicros } from "../record/datetime.js";

type Kind = "BOOLEAN" | "BIGINT" | "DOUBLE" | "VARCHAR" | "TIMESTAMP" | "JSON";

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

function append(appender: DuckDBAppender, kind: Kind, v: unknown): void {
  if (v === null || v === undefined) return appender.appendNull();
  switch (kind) {
    case "BOOLEAN":
      return appender.appendBoolean(v as boolean);
    case "BIGINT":
      return appender.appendBigInt(BigInt(v as number | bigint));
    case "DOUBLE":
      return appender.appendDouble(Number(v));
    case "TIMESTAMP":
      return appender.appendTimestamp(new DuckDBTimestampValue(toEpochMicros(v as string)));
    case "VARCHAR":
      return appender.appendVarchar(v as string);
    case "JSON":
      return appender.appendVarchar(jsonText(v));
  }
}

/** Writes `rows` (only `columns`, in that order) to a Parquet file at `path`. */
export async function writeParquet(path: string, columns: string[], rows: Record<string, unknown>[], datetimeColumns: string[] = []): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    const kinds = columns.map((col) => kindOf(rows.map((r) => r[col]), datetimeColumns.includes(col)));
    const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
    await c.run(`CREATE TABLE out (${columns.map((col, i) => `${quote(col)} ${kinds[i] === "JSON" ? "VARCHAR" : kinds[i]}`).join(", ")})`);
    const appender = await c.createAppender("out");
    try {
      for (const row of rows) {
        columns.forEach((col, i) => append(appender, kinds[i] as Kind, row[col]));
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await c.run(`COPY out TO '${path.replace(/'/g, "''")}' (FORMAT parquet)`);
  } catch (err) {
    if (err instanceof FabraError) throw err;
    throw new FabraError("FILE_UNWRITABLE", `Cannot write ${path}: ${(err as Error).message.split("\n")[0]}`, {
      hint: "Check that the directory exists and is writable.",
      cause: err,
    });
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
