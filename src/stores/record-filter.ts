// The ledger's filter and keyset pagination as SQL, shared by every SQL ledger backend (only the timestamp cast
// differs), so `context list` pages the same way on DuckDB and Postgres.
import { FabraError } from "../errors.js";
import type { LedgerRow, RecordFilter } from "./types.js";

export interface LedgerWhere {
  where: string;
  params: (string | number)[];
}

/** WHERE clause for `filter`; `after` is the row the cursor names (looked up by the caller), `ts` the cast for datetimes. */
export function ledgerWhere(filter: RecordFilter, after: LedgerRow | null, ts: string): LedgerWhere {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (filter.contextFunction !== undefined) {
    params.push(filter.contextFunction);
    clauses.push(`context_function = $${params.length}`);
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
