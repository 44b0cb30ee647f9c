// The ledger's filter and keyset pagination as SQL, shared by every SQL ledger backend (only the timestamp cast
// differs), so `context list` pages the same way on DuckDB and Postgres.
import { FabraError } from "../errors.js";
import { float, JsonFloat, type JsonValue, parseJson, toJsonText } from "../record/json.js";
import type { LedgerRow, RecordFilter, ValueFilter } from "./types.js";

export interface LedgerWhere {
  where: string;
  params: (string | number)[];
}

/**
 * How a backend reads the stored record text as JSON, for the filters on what a record holds (inputs, feature
 * values, freshness, drops). Text that is not JSON (a damaged row) matches none of them and breaks no query.
 */
export interface RecordJsonSql {
  /** True when the record's `inputs` object / `features` array contains the JSON in parameter `param` (`$n`). */
  contains(part: "inputs" | "features", param: string): string;
  /** assembly.freshness_status, as text. */
  freshnessStatus: string;
  /** True when assembly.dropped_items is not empty. */
  hasDrops: string;
}

/** WHERE clause for `filter`; `after` is the row the cursor names (looked up by the caller), `ts` the cast for datetimes. */
export function ledgerWhere(
  filter: RecordFilter,
  after: LedgerRow | null,
  ts: string,
  json?: RecordJsonSql,
): LedgerWhere {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (filter.contextFunction !== undefined) {
    params.push(filter.contextFunction);
    clauses.push(`context_function = $${params.length}`);
  }
  if (filter.replaysOf !== undefined) {
    params.push(filter.replaysOf);
    clauses.push(`previous_context_id = $${params.length}`);
  }
  const contentFilters = [
    ...(filter.inputs ?? []).map((f) => ["inputs", f] as const),
    ...(filter.features ?? []).map((f) => ["features", f] as const),
  ];
  if (contentFilters.length > 0 || filter.freshnessStatus !== undefined || filter.hasDrops !== undefined) {
    if (!json)
      throw new FabraError("INVALID_ARGUMENT", "This ledger cannot filter on what records hold", {
        hint: "Filter by --function and time here, or use a DuckDB or Postgres ledger.",
      });
    for (const [part, f] of contentFilters) {
      const any = valueNeedles(part, f).map((needle) => {
        params.push(needle);
        return json.contains(part, `$${params.length}`);
      });
      clauses.push(`(${any.join(" OR ")})`);
    }
    if (filter.freshnessStatus !== undefined) {
      params.push(filter.freshnessStatus);
      clauses.push(`${json.freshnessStatus} = $${params.length}`);
    }
    if (filter.hasDrops !== undefined)
      clauses.push(filter.hasDrops ? json.hasDrops : `NOT COALESCE(${json.hasDrops}, true)`);
  }
  if (filter.since !== undefined) {
    params.push(filter.since);
    clauses.push(`created_at >= $${params.length}::${ts}`);
  }
  if (filter.until !== undefined) {
    params.push(filter.until);
    clauses.push(`created_at < $${params.length}::${ts}`);
  }
  if (filter.cursor !== undefined) {
    if (!after)
      throw new FabraError("INVALID_ARGUMENT", `cursor ${filter.cursor} is not a record in this ledger`, {
        hint: "Pass the last context_id of the previous page.",
      });
    const op = filter.order === "asc" ? ">" : "<";
    params.push(after.createdAt, after.contextId);
    const t = `$${params.length - 1}::${ts}`;
    clauses.push(`(created_at ${op} ${t} OR (created_at = ${t} AND context_id ${op} $${params.length}))`);
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/**
 * The JSON documents a value filter is a containment test for: `{"userId": v}` in inputs, `[{"name": n, "value": v}]`
 * in features, for each reading of the typed text (the string itself; the JSON it spells, a whole number also as a
 * float and a whole float also as an integer, since a record keeps the kind).
 */
export function valueNeedles(part: "inputs" | "features", f: ValueFilter): string[] {
  if (f.name === "")
    throw new FabraError("INVALID_ARGUMENT", `The ${part === "inputs" ? "input" : "feature"} filter has no name`, {
      hint: part === "inputs" ? "Use e.g. --input userId=u_1." : "Use e.g. --feature userTier=enterprise.",
    });
  const values: JsonValue[] = [f.value];
  let parsed: JsonValue | undefined;
  try {
    parsed = parseJson(f.value, "the filter value");
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined && parsed !== f.value) {
    values.push(parsed);
    if (parsed instanceof JsonFloat && Number.isSafeInteger(parsed.value)) values.push(parsed.value);
    else if (typeof parsed === "number" && Number.isSafeInteger(parsed)) values.push(float(parsed));
  }
  return values.map((value) => toJsonText(part === "inputs" ? { [f.name]: value } : [{ name: f.name, value }]));
}

/** The page size of `list` (default 100), checked. */
export function listLimit(filter: RecordFilter): number {
  const limit = filter.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new FabraError("INVALID_ARGUMENT", `limit ${limit} is not a positive whole number`, { hint: "Use e.g. 20." });
  return limit;
}

/** Every row in created_at order, page by page (for `verify --all` and export). */
export async function* scanLedger(
  list: (filter: RecordFilter) => Promise<LedgerRow[]>,
  batchSize: number,
): AsyncIterable<LedgerRow[]> {
  let cursor: string | undefined;
  for (;;) {
    const batch = await list({ order: "asc", limit: batchSize, cursor });
    if (batch.length === 0) return;
    yield batch;
    if (batch.length < batchSize) return;
    cursor = batch[batch.length - 1]?.contextId;
  }
}
