// A feature's history in a user-managed table or view (HistoryTable): the rules every SQL backend shares (no driver
// imports): finding the table's columns among what the database describes, and the errors when the table or a column
// is missing or a column has a type that cannot be a time. Each backend describes the table, quotes the names it
// found (never the text it was given) and builds its own expressions.
import { FabraError } from "../errors.js";
import { didYouMean } from "../util/suggest.js";
import type { HistoryTable } from "./types.js";

export interface DescribedColumn {
  name: string;
  /** The database's type name (DuckDB: VARCHAR, TIMESTAMP WITH TIME ZONE...; Postgres: text, timestamp with time zone...). */
  type: string;
}

/** The table's columns a feature reads, as the database names and types them. */
export interface HistoryColumns {
  entity: DescribedColumn;
  timestamp: DescribedColumn;
  value: DescribedColumn;
  known?: DescribedColumn;
}

const shownTable = (table: HistoryTable) => table.table.join(".");

/** The table (or view) does not exist where the store looked. */
export function missingHistoryTable(feature: string, table: HistoryTable, where: string, known: string[]): FabraError {
  const name = shownTable(table);
  const last = table.table.at(-1) as string;
  return new FabraError(
    "INVALID_DEFINITION",
    `Feature ${feature}: its history table "${name}" does not exist in the offline store (${where})`,
    {
      hint:
        (didYouMean(last, known) ?? "") +
        ` Create the table or view (columns for the entity, the event time and the value), or fix \`history.table\`${known.length > 0 ? `; tables and views there: ${known.slice(0, 20).join(", ")}` : ""}.`,
    },
  );
}

/**
 * The four columns of `table` among `described` (exact name first, then ignoring case), checked: the event and known
 * time columns must have a time type (`isTime`). Missing columns are named with the columns there are.
 */
export function historyColumns(
  feature: string,
  table: HistoryTable,
  described: DescribedColumn[],
  isTime: (type: string) => boolean,
): HistoryColumns {
  const name = shownTable(table);
  const names = described.map((d) => d.name);
  const find = (column: string, option: string): DescribedColumn => {
    const found =
      described.find((d) => d.name === column) ?? described.find((d) => d.name.toLowerCase() === column.toLowerCase());
    if (found) return found;
    throw new FabraError(
      "INVALID_DEFINITION",
      `Feature ${feature}: its history table "${name}" has no column "${column}" (\`history.${option}\`)`,
      {
        hint: `${didYouMean(column, names) ?? ""} Its columns: ${names.join(", ") || "(none)"}.`.trim(),
      },
    );
  };
  const time = (column: string, option: string): DescribedColumn => {
    const found = find(column, option);
    if (isTime(found.type)) return found;
    throw new FabraError(
      "INVALID_DEFINITION",
      `Feature ${feature}: column "${found.name}" of its history table "${name}" is ${found.type}, not a timestamp (\`history.${option}\`)`,
      {
        hint: "Use a timestamp, timestamptz or date column; for text times, make a view that casts the column.",
      },
    );
  };
  const columns: HistoryColumns = {
    entity: find(table.entityColumn, "entityColumn"),
    timestamp: time(table.timestampColumn, "timestampColumn"),
    value: find(table.valueColumn, "valueColumn"),
  };
  if (table.knownTimeColumn !== undefined) columns.known = time(table.knownTimeColumn, "knownTimeColumn");
  return columns;
}

/** What checkHistoryTable reports when the table is fine. */
export function describeHistoryColumns(qualified: string, columns: HistoryColumns): string {
  const c = (d: DescribedColumn) => `${d.name} ${d.type}`;
  return `${qualified}: entity ${c(columns.entity)}, event time ${c(columns.timestamp)}, value ${c(columns.value)}${columns.known ? `, known time ${c(columns.known)}` : ", known at the event time"}`;
}
