// The ledger through a running `fabra serve` (its /v1/ledger routes), used by `fabra context ...` while that server
// holds an embedded DuckDB file. Appends are verified by the server before they are written.
import { FabraError } from "../../errors.js";
import type { JsonObject } from "../../record/json-value.js";
import { FabraHttpClient } from "../../remote/client.js";
import { listLimit, scanLedger } from "../record-filter.js";
import type { AppendOutcome, LedgerRow, RecordFilter, RecordStore } from "../types.js";

/** The server's largest page. */
const PAGE = 1000;

export class RemoteRecordStore implements RecordStore {
  // The server serializes writes to its file, so any number of clients may write through it.
  readonly capabilities = { concurrentWriters: true, persistent: true };
  private readonly client: FabraHttpClient;

  constructor(url: string, token: string) {
    this.client = new FabraHttpClient(url, token);
  }

  async append(row: LedgerRow): Promise<AppendOutcome> {
    const res = (await this.client.call("POST", "/v1/ledger/rows", { canonical_text: row.canonicalText })) as JsonObject;
    return res.outcome as AppendOutcome;
  }

  async get(contextId: string): Promise<LedgerRow | null> {
    try {
      return toRow((await this.client.call("GET", `/v1/ledger/rows/${encodeURIComponent(contextId)}`)) as JsonObject);
    } catch (err) {
      if (err instanceof FabraError && err.code === "RECORD_NOT_FOUND") return null;
      throw err;
    }
  }

  async list(filter: RecordFilter = {}): Promise<LedgerRow[]> {
    const wanted = listLimit(filter);
    const out: LedgerRow[] = [];
    let cursor = filter.cursor;
    while (out.length < wanted) {
      const limit = Math.min(PAGE, wanted - out.length);
      const res = (await this.client.call("GET", `/v1/ledger/rows?${query({ ...filter, limit, cursor })}`)) as { rows: JsonObject[] };
      const rows = res.rows.map(toRow);
      out.push(...rows);
      if (rows.length < limit) break;
      cursor = rows[rows.length - 1]?.contextId;
    }
    return out;
  }

  async count(filter: Omit<RecordFilter, "limit" | "cursor" | "order"> = {}): Promise<number> {
    const res = (await this.client.call("GET", `/v1/ledger/count?${query(filter)}`)) as { count: number | bigint };
    return Number(res.count);
  }

  scan(batchSize = 1000): AsyncIterable<LedgerRow[]> {
    return scanLedger((filter) => this.list(filter), batchSize);
  }

  async close(): Promise<void> {}
}

function query(filter: RecordFilter): string {
  const params = new URLSearchParams();
  if (filter.contextFunction !== undefined) params.set("function", filter.contextFunction);
  if (filter.since !== undefined) params.set("since", filter.since);
  if (filter.until !== undefined) params.set("until", filter.until);
  if (filter.order !== undefined) params.set("order", filter.order);
  if (filter.limit !== undefined) params.set("limit", String(filter.limit));
  if (filter.cursor !== undefined) params.set("cursor", filter.cursor);
  return params.toString();
}

function toRow(r: JsonObject): LedgerRow {
  return {
    contextId: r.context_id as string,
    createdAt: r.created_at as string,
    contextFunction: r.context_function as string,
    environment: r.environment as string,
    tokenCount: Number(r.token_count),
    recordHash: r.record_hash as string,
    previousContextId: (r.previous_context_id as string | null) ?? null,
    canonicalText: r.canonical_text as string,
  };
}

export function open(url: string, token: string): RemoteRecordStore {
  return new RemoteRecordStore(url, token);
}
