// A feature's history in a user-managed DuckDB table or view: described through information_schema (tables and
// views of the file, and of attached databases), then read as a relation of (entity_id, computed_at, known_at,
// run_id, value_json) rows that the point-in-time join takes in place of fabra's history. run_id is the value text
// (the tie rule of a user table). Values are encoded by the column's type, as history keeps them (kind-preserving
// JSON text): integers as integers, doubles and decimals as floats, text as a JSON string, JSON as written,
// lists/structs/maps as JSON, times as normal-form datetimes; NaN and infinities as null.
import type { DuckDBConnection } from "@duckdb/node-api";
import { normalForm, quoteId } from "../../io/duckdb-sql.js";
import {
  describeHistoryColumns,
  historyColumns,
  missingHistoryTable,
  type DescribedColumn,
  type HistoryColumns,
} from "../history-table.js";
import type { HistoryTable } from "../types.js";

export interface DuckHistorySource {
  /** The relation's SQL: SELECT entity_id, computed_at, known_at, run_id, value_json FROM the table. */
  relation: string;
  description: string;
}

const TIME = /^(TIMESTAMP|DATE$)/;

export async function describeDuckHistoryTable(
  c: DuckDBConnection,
  feature: string,
  table: HistoryTable,
  where: string,
): Promise<DuckHistorySource> {
  const parts = table.table;
  const name = parts.at(-1) as string;
  const schema = parts.length >= 2 ? (parts.at(-2) as string) : null;
  const catalog = parts.length === 3 ? (parts[0] as string) : null;
  // Names are matched ignoring case (DuckDB's own rule for identifiers); a bare name is in the current catalog's main
  // schema, `a.b` is schema a (or database a, schema main).
  const rows = (
    await c.runAndReadAll(
      `SELECT table_catalog, table_schema, table_name, column_name, data_type FROM information_schema.columns
       WHERE lower(table_name) = lower($1)
         AND CASE WHEN $3::VARCHAR IS NOT NULL THEN lower(table_catalog) = lower($3) AND lower(table_schema) = lower($2)
                  WHEN $2::VARCHAR IS NOT NULL THEN (lower(table_schema) = lower($2) AND table_catalog = current_database())
                       OR (lower(table_catalog) = lower($2) AND table_schema = 'main')
                  ELSE table_catalog = current_database() AND table_schema = current_schema() END
       ORDER BY table_catalog, table_schema, table_name, ordinal_position`,
      [name, schema, catalog],
    )
  ).getRowObjectsJS() as {
    table_catalog: string;
    table_schema: string;
    table_name: string;
    column_name: string;
    data_type: string;
  }[];
  const first = rows[0];
  if (!first) {
    const known = (
      (
        await c.runAndReadAll(
          "SELECT DISTINCT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_name NOT LIKE 'fabra_%' ORDER BY 1",
        )
      ).getColumnsJS()[0] ?? []
    ).map(String);
    throw missingHistoryTable(feature, table, where, known);
  }
  const same = rows.filter(
    (r) =>
      r.table_catalog === first.table_catalog &&
      r.table_schema === first.table_schema &&
      r.table_name === first.table_name,
  );
  const described: DescribedColumn[] = same.map((r) => ({ name: r.column_name, type: r.data_type }));
  const columns = historyColumns(feature, table, described, (type) => TIME.test(type));
  const qualified = [first.table_catalog, first.table_schema, first.table_name].map(quoteId).join(".");
  return {
    relation: relationSql(qualified, columns),
    description: describeHistoryColumns(`${first.table_schema}.${first.table_name}`, columns),
  };
}

function relationSql(qualified: string, columns: HistoryColumns): string {
  const entity = quoteId(columns.entity.name);
  const ts = timeSql(columns.timestamp);
  const known = columns.known ? `coalesce(${timeSql(columns.known)}, ${ts})` : ts;
  const value = valueSql(columns.value);
  return `SELECT CAST(${entity} AS VARCHAR) AS entity_id, ${ts} AS computed_at, ${known} AS known_at, ${value} AS run_id, ${value} AS value_json
    FROM ${qualified} WHERE ${entity} IS NOT NULL AND ${quoteId(columns.timestamp.name)} IS NOT NULL`;
}

function timeSql(column: DescribedColumn): string {
  const id = quoteId(column.name);
  return column.type === "TIMESTAMP" ? id : `CAST(${id} AS TIMESTAMP)`;
}

/** The value as kind-preserving JSON text, by the column's type. */
export function valueSql(column: DescribedColumn): string {
  const v = quoteId(column.name);
  const t = column.type;
  let encoded: string;
  if (t === "BOOLEAN") encoded = `CASE WHEN ${v} THEN 'true' ELSE 'false' END`;
  else if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/.test(t))
    encoded = `CAST(${v} AS VARCHAR)`;
  else if (t === "DOUBLE" || t === "FLOAT" || t === "REAL" || t.startsWith("DECIMAL")) {
    // DuckDB writes a double as Python's repr does (12.0, 1e+20), which is how history keeps floats.
    const d = `CAST(${v} AS DOUBLE)`;
    encoded = `CASE WHEN isfinite(${d}) THEN CAST(${d} AS VARCHAR) ELSE 'null' END`;
  } else if (t === "VARCHAR") encoded = `CAST(to_json(${v}) AS VARCHAR)`;
  else if (t === "JSON") encoded = `CAST(${v} AS VARCHAR)`;
  else if (t.startsWith("TIMESTAMP")) encoded = `CAST(to_json(${normalForm(`CAST(${v} AS TIMESTAMP)`)}) AS VARCHAR)`;
  else if (/^(STRUCT|MAP|UNION)|\[\d*\]$/.test(t)) encoded = `CAST(to_json(${v}) AS VARCHAR)`;
  else encoded = `CAST(to_json(CAST(${v} AS VARCHAR)) AS VARCHAR)`;
  return `CASE WHEN ${v} IS NULL THEN 'null' ELSE ${encoded} END`;
}
