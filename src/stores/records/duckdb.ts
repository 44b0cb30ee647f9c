// The ledger on embedded DuckDB: append-only rows holding each record's exact canonical text, plus the columns
// records are looked up by. Nothing here updates or deletes a row.
import { FabraError } from "../../errors.js";
import { fromEpochMicros } from "../../record/datetime.js";
import { DuckDatabase } from "../shared/duckdb-database.js";
import { scanByCursor } from "../shared/scan.js";
import type { AppendOutcome, LedgerRow, RecordFilter, RecordStore } from "../types.js";
import { conflictError } from "./conflict.js";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS fabra_context_records (
     context_id VARCHAR PRIMARY KEY,
     created_at TIMESTAMP NOT NULL,
     context_function VARCHAR NOT NULL,
     environment VARCHAR NOT NULL,
     token_count BIGINT NOT NULL,
     record_hash VARCHAR NOT NULL,
     previous_context_id VARCHAR,
     canonical_text VARCHAR NOT NULL
   )`,
  "CREATE INDEX IF NOT EXISTS fabra_context_records_created_at ON fabra_context_records (created_at)",
  "CREATE INDEX IF NOT EXISTS fabra_context_records_function ON fabra_context_records (context_function)",
  "CREATE INDEX IF NOT EXISTS fabra_context_records_hash ON fabra_context_records (record_hash)",
];

const COLUMNS = "context_id, epoch_us(created_at) AS created_us, context_function, environment, token_count, record_hash, previous_context_id, canonical_text";

interface Row {
  context_id: string;
  created_us: bigint;
  context_function: string;
  environment: string;
  token_count: bigint;
  record_hash: string;
  previous_context_id: string | null;
  canonical_text: string;
}

const toLedgerRow = (r: Row): LedgerRow => ({
  contextId: r.context_id,
  createdAt: fromEpochMicros(r.created_us),
  contextFunction: r.context_function,
  environment: r.environment,
  tokenCount: Number(r.token_count),
  recordHash: r.record_hash,
  previousContextId: r.previous_context_id,
  canonicalText: r.canonical_text,
});

export class DuckDBRecordStore implements RecordStore {
  readonly capabilities = { concurrentWriters: false, persistent: true };

  private constructor(private readonly db: DuckDatabase) {}

  static async open(path: string): Promise<DuckDBRecordStore> {
    const db = await DuckDatabase.open(path);
    try {
      for (const sql of SCHEMA) await db.run(sql);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new DuckDBRecordStore(db);
  }

  async append(row: LedgerRow): Promise<AppendOutcome> {
    const inserted = await this.db.run(
      `INSERT INTO fabra_context_records VALUES ($1, $2::TIMESTAMP, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
      [row.contextId, row.createdAt, row.contextFunction, row.environment, row.tokenCount, row.recordHash, row.previousContextId, row.canonicalText],
    );
    if (inserted === 1) return "inserted";
    const existing = await this.get(row.contextId);
    if (existing && existing.recordHash === row.recordHash) return "exists";
    throw conflictError(row.contextId, existing?.recordHash ?? "(unknown)", row.recordHash);
  }

  async get(contextId: string): Promise<LedgerRow | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM fabra_context_records WHERE context_id = $1`, [contextId]);
    return rows[0] ? toLedgerRow(rows[0]) : null;
  }

  async list(filter: RecordFilter = {}): Promise<LedgerRow[]> {
    const { where, params } = await this.whereClause(filter);
    const dir = filter.order === "asc" ? "ASC" : "DESC";
    const limit = filter.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new FabraError("INVALID_ARGUMENT", `limit ${limit} is not a positive whole number`, { hint: "Use e.g. 20." });
    params.push(limit);
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM fabra_context_records ${where} ORDER BY created_at ${dir}, context_id ${dir} LIMIT $${params.length}`,
      params,
    );
    return rows.map(toLedgerRow);
  }

  async count(filter: Omit<RecordFilter, "limit" | "cursor" | "order"> = {}): Promise<number> {
    const { where, params } = await this.whereClause(filter);
    const rows = await this.db.query<{ n: bigint }>(`SELECT count(*) AS n FROM fabra_context_records ${where}`, params);
    return Number(rows[0]?.n ?? 0);
  }

  scan(batchSize = 1000): AsyncIterable<LedgerRow[]> {
    return scanByCursor((filter) => this.list(filter), batchSize);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private async whereClause(filter: RecordFilter): Promise<{ where: string; params: (string | number)[] }> {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.contextFunction !== undefined) {
      params.push(filter.contextFunction);
      clauses.push(`context_function = $${params.length}`);
    }
    if (filter.since !== undefined) {
      params.push(filter.since);
      clauses.push(`created_at >= $${params.length}::TIMESTAMP`);
    }
    if (filter.until !== undefined) {
      params.push(filter.until);
      clauses.push(`created_at < $${params.length}::TIMESTAMP`);
    }
    if (filter.cursor !== undefined) {
      const after = await this.get(filter.cursor);
      if (!after) throw new FabraError("INVALID_ARGUMENT", `cursor ${filter.cursor} is not a record in this ledger`, { hint: "Pass the last context_id of the previous page." });
      const op = filter.order === "asc" ? ">" : "<";
      params.push(after.createdAt, after.contextId);
      const t = `$${params.length - 1}::TIMESTAMP`;
      clauses.push(`(created_at ${op} ${t} OR (created_at = ${t} AND context_id ${op} $${params.length}))`);
    }
    return { where: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", params };
  }
}

export function open(path: string): Promise<DuckDBRecordStore> {
  return DuckDBRecordStore.open(path);
}
