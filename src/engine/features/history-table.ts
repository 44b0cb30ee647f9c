// `history: { table, entityColumn, timestampColumn, valueColumn, knownTimeColumn? }` of a feature: its history is a
// table or view the user manages in the offline store. The option is checked when definitions load (names are plain
// SQL identifiers, so each store can quote them and nothing is ever interpolated as given), then handed to the store
// as a HistoryTable; the store checks that the table and its columns exist (at load, in `fabra doctor`, and before
// each join).
import { z } from "zod";
import type { FeatureDef, FeatureHistoryTable } from "../../define/feature.js";
import { FabraError } from "../../errors.js";
import type { HistoryTable, OfflineStore } from "../../stores/types.js";
import { didYouMean } from "../../util/suggest.js";

/** A plain identifier: letters, digits, _ and $, not starting with a digit (Postgres keeps 63 bytes of a name). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

const KEYS = ["table", "entityColumn", "timestampColumn", "valueColumn", "knownTimeColumn"] as const;
const EXAMPLE =
  'history: { table: "analytics.user_scores", entityColumn: "user_id", timestampColumn: "updated_at", valueColumn: "score" }';

const shape = z.strictObject({
  table: z.string(),
  entityColumn: z.string(),
  timestampColumn: z.string(),
  valueColumn: z.string(),
  knownTimeColumn: z.string().optional(),
});

/** Checks the option (INVALID_DEFINITION naming the key: a typo gets "did you mean"); returns the table's name parts. */
export function parseHistoryOption(value: unknown, feature: string): HistoryTable {
  const at = (key: string) => `Feature ${feature}: \`history${key === "" ? "" : `.${key}`}\``;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new FabraError(
      "INVALID_DEFINITION",
      `${at("")} is ${JSON.stringify(value) ?? String(value)}, not an object`,
      {
        hint: `Use e.g. ${EXAMPLE}.`,
      },
    );
  const parsed = shape.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0] as string;
      throw new FabraError("INVALID_DEFINITION", `Feature ${feature}: \`history\` has no option \`${key}\``, {
        hint: didYouMean(key, KEYS) ?? `The options of history are ${KEYS.join(", ")}.`,
      });
    }
    const key = String(issue.path[0] ?? "");
    const given = (value as Record<string, unknown>)[key];
    throw new FabraError(
      "INVALID_DEFINITION",
      given === undefined ? `${at(key)} is missing` : `${at(key)} is ${JSON.stringify(given)}, not a name`,
      { hint: `Name the table and its columns: ${EXAMPLE}.` },
    );
  }
  const h = parsed.data;
  const parts = h.table.split(".");
  const bad = (key: string, name: string, what: string) =>
    new FabraError("INVALID_DEFINITION", `${at(key)} is ${JSON.stringify(name)}, not a plain SQL ${what}`, {
      hint: `Use letters, digits, _ and $ (not starting with a digit)${key === "table" ? ', optionally schema-qualified ("analytics.user_scores")' : ""}; for another name, make a view.`,
    });
  if (parts.length > 3 || !parts.every((p) => IDENTIFIER.test(p))) throw bad("table", h.table, "table name");
  const table: HistoryTable = {
    table: parts,
    entityColumn: h.entityColumn,
    timestampColumn: h.timestampColumn,
    valueColumn: h.valueColumn,
  };
  if (h.knownTimeColumn !== undefined) table.knownTimeColumn = h.knownTimeColumn;
  for (const key of ["entityColumn", "timestampColumn", "valueColumn", "knownTimeColumn"] as const) {
    const column = table[key];
    if (column !== undefined && !IDENTIFIER.test(column)) throw bad(key, column, "column name");
  }
  return table;
}

/** The feature's history table, or undefined when its history is fabra's own. */
export function historyTableOf(def: FeatureDef, name: string): HistoryTable | undefined {
  const h: FeatureHistoryTable | undefined = def.options.history;
  return h === undefined ? undefined : parseHistoryOption(h, name);
}

/** Every feature with a history table, checked against the store (the first problem thrown). */
export async function checkHistoryTables(
  features: Iterable<[string, FeatureDef]>,
  offline: OfflineStore,
): Promise<{ feature: string; detail: string }[]> {
  const found: { feature: string; detail: string }[] = [];
  for (const [name, def] of features) {
    const table = historyTableOf(def, name);
    if (!table) continue;
    if (!offline.checkHistoryTable)
      throw new FabraError("INVALID_DEFINITION", `Feature ${name}: this offline store cannot read a history table`, {
        hint: "Use DuckDB or Postgres as stores.offline, or leave `history` out to keep fabra's own history.",
      });
    found.push({ feature: name, detail: await offline.checkHistoryTable(name, table) });
  }
  return found;
}

/** Writing history is fabra's own history only: a feature read from a user's table is written there, by its owner. */
export function refuseHistoryWrite(def: FeatureDef, name: string, what: string): void {
  const table = def.options.history?.table;
  if (table === undefined) return;
  throw new FabraError(
    "INVALID_ARGUMENT",
    `Feature ${name} reads its history from the table "${table}", so ${what} cannot write its history`,
    {
      hint: `Load the values into ${table} itself (fabra joins that table where it is), or leave \`history\` out of the feature to keep fabra's own history.`,
    },
  );
}
