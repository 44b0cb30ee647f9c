// The ledger through a running `fabra serve` (its /v1/ledger routes, through the remote/ client), used by
// `fabra context ...` while that server holds an embedded DuckDB file. Appends are verified by the server first.
import { requireNormalContextId } from "../../record/id.js";
import { FabraHttpClient } from "../../remote/client.js";
import { listLimit, scanLedger } from "../record-filter.js";
import type { AppendOutcome, LedgerRow, OutcomeRow, RecordFilter, RecordStore, StoreCheck } from "../types.js";
import { plural } from "../../util/plural.js";

/** The server's largest page. */
const PAGE = 1000;

export class RemoteRecordStore implements RecordStore {
  // The server serializes writes to its file, so any number of clients may write through it.
  readonly capabilities = { concurrentWriters: true, persistent: true, sharedAcrossProcesses: true };

  constructor(private readonly client: FabraHttpClient) {}

  async append(row: LedgerRow): Promise<AppendOutcome> {
    requireNormalContextId(row.contextId, "ledger append");
    return this.client.appendRow(row.canonicalText, row.imported === true);
  }

  get(contextId: string): Promise<LedgerRow | null> {
    return this.client.getRow(contextId);
  }

  /** The server's row route takes a `sha256:` record hash as well as an id. */
  getByHash(recordHash: string): Promise<LedgerRow | null> {
    return this.client.getRow(recordHash);
  }

  async list(filter: RecordFilter = {}): Promise<LedgerRow[]> {
    const wanted = listLimit(filter);
    const out: LedgerRow[] = [];
    let cursor = filter.cursor;
    while (out.length < wanted) {
      const limit = Math.min(PAGE, wanted - out.length);
      const rows = await this.client.listRows({ ...filter, limit, cursor });
      out.push(...rows);
      if (rows.length < limit) break;
      cursor = rows[rows.length - 1]?.contextId;
    }
    return out;
  }

  listOutcomes(contextId: string): Promise<OutcomeRow[]> {
    return this.client.listOutcomes(contextId);
  }

  count(filter: Omit<RecordFilter, "limit" | "cursor" | "order"> = {}): Promise<number> {
    return this.client.countRows(filter);
  }

  scan(batchSize = 1000): AsyncIterable<LedgerRow[]> {
    return scanLedger((filter) => this.list(filter), batchSize);
  }

  async probe(): Promise<StoreCheck[]> {
    return [
      {
        name: "stores.offline (through fabra serve)",
        state: "ok",
        detail: `${this.client.url}: ${plural(await this.count(), "record")}`,
      },
    ];
  }

  async close(): Promise<void> {}
}

export function open(url: string, token: string): RemoteRecordStore {
  return new RemoteRecordStore(new FabraHttpClient(url, token));
}
