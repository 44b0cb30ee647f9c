// The ledger of a fabra server named by `--url` / FABRA_URL, read through its public routes (GET /v1/contexts,
// /v1/contexts/{ref}) with FABRA_API_KEY: read-only. A record's row is built from the bytes received, so the Ledger
// verifies those bytes here (evidence, not the server's word); a record other than the one asked for is refused.
import { recordToRow } from "../../engine/ledger/rows.js";
import { FabraError } from "../../errors.js";
import { readRecordText } from "../../record/verify.js";
import { FabraHttpClient } from "../../remote/client.js";
import { listLimit, scanLedger } from "../record-filter.js";
import type { AppendOutcome, LedgerRow, RecordFilter, RecordStore, StoreCheck } from "../types.js";

/** The server's largest page. */
const PAGE = 1000;
/** Records fetched at once when a page of summaries needs their text. */
const PARALLEL = 8;

export class PublicRecordStore implements RecordStore {
  readonly capabilities = { concurrentWriters: false, persistent: true, sharedAcrossProcesses: true };

  constructor(private readonly client: FabraHttpClient) {}

  append(row: LedgerRow): Promise<AppendOutcome> {
    return Promise.reject(
      new FabraError(
        "INVALID_ARGUMENT",
        `Not appending ${row.contextId}: the server at ${this.client.url} is read-only through --url`,
        {
          hint: "`--url` / FABRA_URL reads records (show, verify, diff, list, export); import into a server with its own CLI.",
        },
      ),
    );
  }

  async get(contextId: string): Promise<LedgerRow | null> {
    const row = await this.fetchRow(contextId);
    if (row && row.contextId !== contextId) throw this.wrongRecord(contextId, row);
    return row;
  }

  async getByHash(recordHash: string): Promise<LedgerRow | null> {
    const row = await this.fetchRow(recordHash);
    if (row && row.recordHash !== recordHash) throw this.wrongRecord(recordHash, row);
    return row;
  }

  async list(filter: RecordFilter = {}): Promise<LedgerRow[]> {
    const summaries = await this.summaries(filter);
    const rows: LedgerRow[] = [];
    for (let i = 0; i < summaries.length; i += PARALLEL) {
      const batch = summaries.slice(i, i + PARALLEL);
      const fetched = await Promise.all(batch.map((s) => this.get(s.contextId)));
      for (const [j, row] of fetched.entries()) {
        if (row === null) throw this.vanished(batch[j]?.contextId ?? "");
        rows.push(row);
      }
    }
    return rows;
  }

  async count(filter: Omit<RecordFilter, "limit" | "cursor" | "order"> = {}): Promise<number> {
    let total = 0;
    let cursor: string | undefined;
    for (;;) {
      const page = await this.client.listRecords({ ...filter, limit: PAGE, cursor });
      total += page.length;
      if (page.length < PAGE) return total;
      cursor = page[page.length - 1]?.contextId;
    }
  }

  scan(batchSize = 100): AsyncIterable<LedgerRow[]> {
    return scanLedger((filter) => this.list(filter), batchSize);
  }

  async probe(): Promise<StoreCheck[]> {
    const newest = await this.client.listRecords({ limit: 1 });
    return [
      {
        name: "records (a fabra server, --url)",
        state: "ok",
        detail: `${this.client.url}: ${newest.length === 0 ? "no records" : `newest ${newest[0]?.contextId}`}`,
      },
    ];
  }

  async close(): Promise<void> {}

  private async summaries(filter: RecordFilter) {
    const wanted = listLimit(filter);
    const out: Awaited<ReturnType<FabraHttpClient["listRecords"]>> = [];
    let cursor = filter.cursor;
    while (out.length < wanted) {
      const limit = Math.min(PAGE, wanted - out.length);
      const page = await this.client.listRecords({ ...filter, limit, cursor });
      out.push(...page);
      if (page.length < limit) break;
      cursor = page[page.length - 1]?.contextId;
    }
    return out;
  }

  /** The record as received, as a row whose canonical text is exactly those bytes. */
  private async fetchRow(ref: string): Promise<LedgerRow | null> {
    const text = await this.client.recordText(ref);
    if (text === null) return null;
    return recordToRow(readRecordText(text, `the record ${ref} from ${this.client.url}`), text);
  }

  private wrongRecord(asked: string, row: LedgerRow): FabraError {
    return new FabraError(
      "VERIFICATION_FAILED",
      `The server at ${this.client.url} answered ${asked} with another record (${row.contextId}, ${row.recordHash})`,
      { hint: "The server is not handing out the record asked for: do not trust its answers; check it." },
    );
  }

  private vanished(contextId: string): FabraError {
    return new FabraError(
      "RECORD_NOT_FOUND",
      `The server at ${this.client.url} listed ${contextId} but does not return it`,
      {
        hint: "Run the command again; if it persists, check the server's log.",
      },
    );
  }
}

export function open(url: string, apiKey: string): PublicRecordStore {
  const hint = `Check the URL (--url / FABRA_URL) and that the fabra server there is running and reachable from here.`;
  return new PublicRecordStore(new FabraHttpClient(url, apiKey, hint));
}
