// The ledger on embedded DuckDB: append-only rows holding each record's exact canonical text, plus the columns
// records are looked up by. Nothing here updates or deletes a row.
import type { DuckDBConnection, DuckDBPreparedStatement } from "@duckdb/node-api";
import { FabraError } from "../../errors.js";
import { fromEpochMicros } from "../../record/datetime.js";
import { requireNormalContextId } from "../../record/id.js";
import { DuckDatabase } from "./database.js";
import type { AppendOutcome, LedgerRow, RawLedgerRow, RecordFilter, RecordStore, StoreCheck } from "../types.js";
import { conflictError } from "../record-conflict.js";
import { type CommitStats, insertSortingOutStored, LedgerCommitQueue, type RowResult } from "../ledger-commit.js";
import { listValue } from "./driver.js";
import { scanRawPages } from "./records-scan.js";
import { ledgerWhere, listLimit, type LedgerWhere, type RecordJsonSql } from "../record-filter.js";
import { plural } from "../../util/plural.js";
import { CHECKPOINTS_TABLE, OUTCOMES_SCHEMA, TILES_TABLE } from "./schema-version.js";
import type { OutcomeRow } from "../types.js";

import type { NodeKey } from "../../tlog/merkle.js";
import type { LogIndexEntry, LogLeaf } from "../types.js";
import {
  leafIndexOf,
  listCheckpoints,
  saveCheckpoint,
  type LogQuery,
  logSize,
  readNodes,
  readNodesViaTiles,
  scanIndex,
  scanLeaves,
} from "../transparency-log.js";
import { integrate, LOG_TABLES, openLog, queueLeaf } from "./log.js";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS fabra_context_records (
     context_id VARCHAR PRIMARY KEY,
     created_at TIMESTAMP NOT NULL,
     context_function VARCHAR NOT NULL,
     environment VARCHAR NOT NULL,
     token_count BIGINT NOT NULL,
     record_hash VARCHAR NOT NULL,
     previous_context_id VARCHAR,
     canonical_text VARCHAR NOT NULL,
     imported BOOLEAN DEFAULT false
   )`,
  "CREATE INDEX IF NOT EXISTS fabra_context_records_created_at ON fabra_context_records (created_at)",
  "CREATE INDEX IF NOT EXISTS fabra_context_records_function ON fabra_context_records (context_function)",
  "CREATE INDEX IF NOT EXISTS fabra_context_records_hash ON fabra_context_records (record_hash)",
  ...OUTCOMES_SCHEMA,
  // The transparency log (TLOG-001), also created by schema version 2's upgrade.
  "CREATE TABLE IF NOT EXISTS fabra_tlog_leaves (leaf_index BIGINT PRIMARY KEY, context_id VARCHAR NOT NULL UNIQUE)",
  "CREATE TABLE IF NOT EXISTS fabra_tlog_nodes (node_key VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL)",
  TILES_TABLE,
  CHECKPOINTS_TABLE,
];

/**
 * The filters on what records hold, read from the stored text with DuckDB's JSON functions (a columnar scan of the
 * rows the function/time bounds leave; the text is checked as JSON first, so a damaged row matches nothing).
 */
const RECORD_JSON: RecordJsonSql = {
  contains: (part, param) =>
    `(CASE WHEN json_valid(canonical_text) THEN json_contains(json_extract(canonical_text, '$.${part}'), ${param}::JSON) END)`,
  freshnessStatus:
    "(CASE WHEN json_valid(canonical_text) THEN json_extract_string(canonical_text, '$.assembly.freshness_status') END)",
  hasDrops:
    "(CASE WHEN json_valid(canonical_text) THEN json_array_length(canonical_text, '$.assembly.dropped_items') > 0 END)",
};

const COLUMNS =
  "context_id, epoch_us(created_at) AS created_us, context_function, environment, token_count, record_hash, previous_context_id, canonical_text, imported";

interface Row {
  context_id: string;
  created_us: bigint;
  context_function: string;
  environment: string;
  token_count: bigint;
  record_hash: string;
  previous_context_id: string | null;
  canonical_text: string;
  imported: boolean | null;
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
  ...(r.imported === true ? { imported: true } : {}),
});

const OUTCOME_COLUMNS = "outcome_id, context_id, epoch_us(recorded_at) AS recorded_us, entry_hash, canonical_text";

interface OutcomeDbRow {
  outcome_id: string;
  context_id: string;
  recorded_us: bigint;
  entry_hash: string;
  canonical_text: string;
}

const toOutcomeRow = (r: OutcomeDbRow): OutcomeRow => ({
  outcomeId: r.outcome_id,
  contextId: r.context_id,
  recordedAt: fromEpochMicros(r.recorded_us),
  entryHash: r.entry_hash,
  canonicalText: r.canonical_text,
});

const INSERT =
  "INSERT INTO fabra_context_records (context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text, imported) VALUES ($1, $2::TIMESTAMP, $3, $4, $5, $6, $7, $8, $9)";

/** Many rows in one statement: each column is one bound list, unnested side by side (in step). */
const INSERT_MANY = `INSERT INTO fabra_context_records (context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text, imported)
  SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[])::TIMESTAMP, unnest($3::VARCHAR[]), unnest($4::VARCHAR[]), unnest($5::BIGINT[]), unnest($6::VARCHAR[]), unnest($7::VARCHAR[]), unnest($8::VARCHAR[]), unnest($9::BOOLEAN[])`;

/** DuckDB's words for a statement refused by a primary key (an id already stored). */
const DUPLICATE = /Duplicate key|PRIMARY KEY or UNIQUE constraint/i;
/** A statement refused for one row's values (the batch is split to find it; the other rows are committed). */
const ROW_ERROR = /Conversion Error|Invalid Input Error|Constraint Error|out of range/i;

export class DuckDBRecordStore implements RecordStore {
  readonly capabilities = { concurrentWriters: false, persistent: true, sharedAcrossProcesses: false };
  /** The append statement, prepared once per connection (and closed with it). */
  private readonly inserts = new WeakMap<DuckDBConnection, DuckDBPreparedStatement>();

  /** The multi-row append, prepared once per connection too. */
  private readonly batchInserts = new WeakMap<DuckDBConnection, DuckDBPreparedStatement>();
  private readonly commits: LedgerCommitQueue;

  private constructor(private readonly db: DuckDatabase) {
    this.commits = new LedgerCommitQueue({
      write: (rows) => this.writeBatch(rows),
      isRowError: (err) => ROW_ERROR.test((err as Error)?.message ?? ""),
      where: `DuckDB ledger ${db.path}`,
    });
  }

  static async open(path: string): Promise<DuckDBRecordStore> {
    const db = await DuckDatabase.open(path);
    try {
      for (const sql of SCHEMA) await db.run(sql);
      await openLog(db); // before any append: whether the log's first step must catch up
    } catch (err) {
      await db.close();
      throw err;
    }
    return new DuckDBRecordStore(db);
  }

  /**
   * Appends through the group commit (ledger-commit.ts): appends in flight share one transaction, and each resolves
   * once the commit holding its row is durable (DuckDB syncs its WAL at every commit).
   */
  append(row: LedgerRow): Promise<AppendOutcome> {
    try {
      requireNormalContextId(row.contextId, "ledger append");
    } catch (err) {
      return Promise.reject(err);
    }
    return this.commits.append(row);
  }

  /** One commit of the queue: a lone row as one prepared INSERT, more as one multi-row INSERT (one transaction). */
  private writeBatch(rows: readonly LedgerRow[]): Promise<RowResult[]> {
    return insertSortingOutStored(rows, {
      insertOne: (row) => this.insertOne(row),
      insertMany: (many) => this.insertMany(many),
      isDuplicate: (err) => DUPLICATE.test((err as Error)?.message ?? ""),
      storedHashes: (ids) => this.storedHashes(ids),
    });
  }

  /** One row, one prepared INSERT in autocommit (a repeated id is sorted out after: "exists" or a conflict). */
  private async insertOne(row: LedgerRow): Promise<RowResult> {
    // A plain INSERT: the primary key refuses a second row with the same id. (`ON CONFLICT DO NOTHING` would
    // say the same but costs DuckDB about 2 ms per append; a repeated id is rare, so it is sorted out after.)
    try {
      await this.db.exclusive(async (c) => {
        let insert = this.inserts.get(c);
        if (!insert) {
          insert = await c.prepare(INSERT);
          this.inserts.set(c, insert);
        }
        insert.bind([
          row.contextId,
          row.createdAt,
          row.contextFunction,
          row.environment,
          row.tokenCount,
          row.recordHash,
          row.previousContextId,
          row.canonicalText,
          row.imported === true,
        ]);
        await insert.run();
      });
      queueLeaf(this.db, row.contextId, row.canonicalText); // the transparency log's next step integrates it
      return "inserted";
    } catch (err) {
      const existing = await this.get(row.contextId).catch(() => null);
      if (!existing) throw err;
      if (existing.recordHash === row.recordHash) return "exists";
      return conflictError(row.contextId, existing.recordHash, row.recordHash);
    }
  }

  /** Many rows in one statement (autocommit: one transaction, one WAL sync): each column bound as one list. */
  private async insertMany(rows: readonly LedgerRow[]): Promise<void> {
    const column = <T>(pick: (r: LedgerRow) => T) => listValue(rows.map(pick) as never[]);
    await this.db.exclusive(async (c) => {
      let insert = this.batchInserts.get(c);
      if (!insert) {
        insert = await c.prepare(INSERT_MANY);
        this.batchInserts.set(c, insert);
      }
      insert.bind([
        column((r) => r.contextId),
        column((r) => r.createdAt),
        column((r) => r.contextFunction),
        column((r) => r.environment),
        column((r) => BigInt(r.tokenCount)),
        column((r) => r.recordHash),
        column((r) => r.previousContextId),
        column((r) => r.canonicalText),
        column((r) => r.imported === true),
      ]);
      await insert.run();
    });
    // Committed together: the transparency log's next step integrates them (in the sequencer's order).
    for (const row of rows) queueLeaf(this.db, row.contextId, row.canonicalText);
  }

  /** The stored record_hash of each of `ids` that is in the ledger. */
  private async storedHashes(ids: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.db.query<{ context_id: string; record_hash: string }>(
      "SELECT context_id, record_hash FROM fabra_context_records WHERE context_id IN (SELECT unnest($1::VARCHAR[]))",
      [listValue([...ids])],
    );
    return new Map(rows.map((r) => [r.context_id, r.record_hash]));
  }

  /** What the group commit has done on this handle (benches read it). */
  get commitStats(): CommitStats {
    return this.commits.stats;
  }

  async get(contextId: string): Promise<LedgerRow | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM fabra_context_records WHERE context_id = $1`, [
      contextId,
    ]);
    return rows[0] ? toLedgerRow(rows[0]) : null;
  }

  async getByHash(recordHash: string): Promise<LedgerRow | null> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM fabra_context_records WHERE record_hash = $1 ORDER BY created_at, context_id LIMIT 1`,
      [recordHash],
    );
    return rows[0] ? toLedgerRow(rows[0]) : null;
  }

  async list(filter: RecordFilter = {}): Promise<LedgerRow[]> {
    const { where, params } = await this.whereClause(filter);
    const dir = filter.order === "asc" ? "ASC" : "DESC";
    params.push(listLimit(filter));
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

  async *scan(batchSize = 1000): AsyncIterable<LedgerRow[]> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1)
      throw new FabraError("INVALID_ARGUMENT", `batch size ${batchSize} is not a positive whole number`, {
        hint: "Use e.g. 1000.",
      });
    let after: LedgerRow | undefined;
    for (;;) {
      const batch = await this.pageAfter(after, batchSize);
      if (batch.length === 0) return;
      yield batch;
      if (batch.length < batchSize) return;
      after = batch[batch.length - 1];
    }
  }

  /**
   * The next `limit` rows after `after` in (created_at, context_id) order. The page's last key is found on the
   * key columns alone, then the page is read as a key range: `ORDER BY ... LIMIT` with every column would make
   * DuckDB read the large canonical_text of every later row for each page, so a full scan would be quadratic.
   */
  private async pageAfter(after: LedgerRow | undefined, limit: number): Promise<LedgerRow[]> {
    const params: (string | number)[] = [];
    let from = "";
    if (after) {
      params.push(after.createdAt, after.contextId);
      from = "created_at >= $1::TIMESTAMP AND (created_at > $1::TIMESTAMP OR context_id > $2)";
    }
    params.push(limit);
    const last = await this.db.query<{ created_us: bigint; context_id: string }>(
      `SELECT epoch_us(created_at) AS created_us, context_id FROM (
         SELECT created_at, context_id FROM fabra_context_records ${from ? `WHERE ${from}` : ""}
         ORDER BY created_at, context_id LIMIT $${params.length}
       ) ORDER BY created_at DESC, context_id DESC LIMIT 1`,
      params,
    );
    const end = last[0];
    if (!end) return [];
    params.pop();
    params.push(fromEpochMicros(end.created_us), end.context_id);
    const t = `$${params.length - 1}::TIMESTAMP`;
    const to = `created_at <= ${t} AND (created_at < ${t} OR context_id <= $${params.length})`;
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM fabra_context_records WHERE ${from ? `${from} AND ` : ""}${to} ORDER BY created_at, context_id`,
      params,
    );
    return rows.map(toLedgerRow);
  }

  async probe(): Promise<StoreCheck[]> {
    return [
      {
        name: "stores.offline (DuckDB)",
        state: "ok",
        detail: `${this.db.path}: opened for writing, ${plural(await this.count(), "record")}`,
      },
    ];
  }

  scanRaw(batchSize = 1000): AsyncIterable<RawLedgerRow[]> {
    return scanRawPages(this.db, batchSize);
  }

  async appendOutcome(row: OutcomeRow): Promise<void> {
    await this.db.run("INSERT INTO fabra_outcomes VALUES ($1, $2, $3::TIMESTAMP, $4, $5)", [
      row.outcomeId,
      row.contextId,
      row.recordedAt,
      row.entryHash,
      row.canonicalText,
    ]);
    queueLeaf(this.db, row.outcomeId, row.canonicalText);
  }

  /** Every outcome entry, in outcome_id order (keyset pages). */
  async *scanOutcomes(batchSize = 1000): AsyncIterable<OutcomeRow[]> {
    let after = "";
    for (;;) {
      const rows = await this.db.query<OutcomeDbRow>(
        `SELECT ${OUTCOME_COLUMNS} FROM fabra_outcomes WHERE outcome_id > $1 ORDER BY outcome_id LIMIT $2`,
        [after, batchSize],
      );
      if (rows.length === 0) return;
      yield rows.map(toOutcomeRow);
      if (rows.length < batchSize) return;
      after = (rows[rows.length - 1] as OutcomeDbRow).outcome_id;
    }
  }

  async listOutcomes(contextId: string): Promise<OutcomeRow[]> {
    const rows = await this.db.query<OutcomeDbRow>(
      `SELECT ${OUTCOME_COLUMNS} FROM fabra_outcomes WHERE context_id = $1 ORDER BY recorded_at, outcome_id`,
      [contextId],
    );
    return rows.map(toOutcomeRow);
  }

  /** The sequencer step (log.ts): on a connection of its own, integrating what this process appended since the last. */
  async integrateLog(): Promise<number> {
    return integrate(this.db, await this.logDatabase());
  }

  /** The log's own connection to the file, opened at the first step. */
  private logDb: Promise<DuckDatabase> | null = null;

  private logDatabase(): Promise<DuckDatabase> {
    this.logDb ??= DuckDatabase.open(this.db.path);
    this.logDb.catch(() => {
      this.logDb = null;
    });
    return this.logDb;
  }

  logSize(): Promise<number> {
    return logSize(this.logQuery, LOG_TABLES);
  }

  readLogNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    return readNodes(this.logQuery, LOG_TABLES, keys);
  }

  readLogProofNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    return readNodesViaTiles(this.logQuery, LOG_TABLES, keys);
  }

  logLeafIndex(id: string): Promise<number | null> {
    return leafIndexOf(this.logQuery, LOG_TABLES, id);
  }

  scanLogLeaves(batchSize = 1000): AsyncIterable<LogLeaf[]> {
    return scanLeaves(this.logQuery, LOG_TABLES, batchSize);
  }

  scanLogIndex(batchSize?: number): AsyncIterable<LogIndexEntry[]> {
    return scanIndex(this.logQuery, LOG_TABLES, batchSize);
  }

  saveLogCheckpoint(size: number, note: string): Promise<void> {
    return saveCheckpoint(this.logQuery, LOG_TABLES, size, note);
  }

  listLogCheckpoints(): Promise<{ size: number; note: string }[]> {
    return listCheckpoints(this.logQuery, LOG_TABLES);
  }

  /** The log's reads (proofs, checkpoints, verify) through statements prepared once per text. */
  private readonly logQuery: LogQuery = <T>(sql: string, params: unknown[] = []) =>
    this.db.queryPrepared<T>(sql, params as never);

  async close(): Promise<void> {
    await this.commits.idle();
    const logDb = this.logDb;
    this.logDb = null;
    if (logDb) await (await logDb.catch(() => null))?.close();
    return this.db.close();
  }

  private async whereClause(filter: RecordFilter): Promise<LedgerWhere> {
    return ledgerWhere(
      filter,
      filter.cursor === undefined ? null : await this.get(filter.cursor),
      "TIMESTAMP",
      RECORD_JSON,
    );
  }
}

export function open(path: string): Promise<DuckDBRecordStore> {
  return DuckDBRecordStore.open(path);
}
