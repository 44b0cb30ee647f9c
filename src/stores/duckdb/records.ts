// The ledger on embedded DuckDB: append-only rows holding each record's exact canonical text, plus the columns
// records are looked up by. Nothing here updates or deletes a row.
import { FabraError } from "../../errors.js";
import { fromEpochMicros } from "../../record/datetime.js";
import { requireNormalContextId } from "../../record/id.js";
import { DuckDatabase } from "./database.js";
import type { AppendOutcome, LedgerRow, RawLedgerRow, RecordFilter, RecordStore, StoreCheck } from "../types.js";
import { type CommitStats, LedgerCommitQueue } from "../ledger-commit.js";
import { type JournalOptions, LedgerJournal } from "./ledger-journal.js";
import { scanRawPages } from "./records-scan.js";
import { ledgerWhere, listLimit, type LedgerWhere, type RecordJsonSql } from "../record-filter.js";
import { plural } from "../../util/plural.js";
import { CHECKPOINTS_TABLE, LEAF_HASHES_TABLE, OUTCOMES_SCHEMA, TILES_TABLE } from "./schema-version.js";
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
  LEAF_HASHES_TABLE,
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

export class DuckDBRecordStore implements RecordStore {
  readonly capabilities = { concurrentWriters: false, persistent: true, sharedAcrossProcesses: false };
  private readonly commits: LedgerCommitQueue;

  private constructor(
    private readonly db: DuckDatabase,
    /** Where appends are made durable before they reach the table (read-your-writes: see ledger-journal.ts). */
    private readonly journal: LedgerJournal,
  ) {
    this.commits = new LedgerCommitQueue({
      write: (rows) => journal.write(rows, () => this.commits.queued),
      where: `DuckDB ledger ${db.path}`,
    });
  }

  static async open(path: string, options: JournalOptions = {}): Promise<DuckDBRecordStore> {
    const db = await DuckDatabase.open(path);
    let journal: LedgerJournal | null = null;
    try {
      for (const sql of SCHEMA) await db.run(sql);
      journal = await LedgerJournal.acquire(path, options);
      // Before any append, and after the journal's rows a crash left are in the table (their leaves may be in the
      // log already: counted without them, entries and leaves could match while an entry has none): whether the
      // log's first step must catch up.
      await openLog(db);
      return new DuckDBRecordStore(db, journal);
    } catch (err) {
      await journal?.release();
      await db.close();
      throw err;
    }
  }

  /**
   * Appends through the group commit (ledger-commit.ts): appends in flight share one journal write and fdatasync,
   * and each resolves once the frame holding its row is durable; DuckDB gets the rows soon after (ledger-journal.ts).
   */
  append(row: LedgerRow): Promise<AppendOutcome> {
    try {
      requireNormalContextId(row.contextId, "ledger append");
    } catch (err) {
      return Promise.reject(err);
    }
    return this.commits.append(row);
  }

  /** What the group commit has done on this handle (benches read it). */
  get commitStats(): CommitStats {
    return this.commits.stats;
  }

  async get(contextId: string): Promise<LedgerRow | null> {
    const waiting = this.journal.waitingRow(contextId);
    if (waiting) return waiting;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM fabra_context_records WHERE context_id = $1`, [
      contextId,
    ]);
    return rows[0] ? toLedgerRow(rows[0]) : null;
  }

  async getByHash(recordHash: string): Promise<LedgerRow | null> {
    await this.journal.flush();
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM fabra_context_records WHERE record_hash = $1 ORDER BY created_at, context_id LIMIT 1`,
      [recordHash],
    );
    return rows[0] ? toLedgerRow(rows[0]) : null;
  }

  async list(filter: RecordFilter = {}): Promise<LedgerRow[]> {
    await this.journal.flush();
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
    await this.journal.flush();
    const { where, params } = await this.whereClause(filter);
    const rows = await this.db.query<{ n: bigint }>(`SELECT count(*) AS n FROM fabra_context_records ${where}`, params);
    return Number(rows[0]?.n ?? 0);
  }

  async *scan(batchSize = 1000): AsyncIterable<LedgerRow[]> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1)
      throw new FabraError("INVALID_ARGUMENT", `batch size ${batchSize} is not a positive whole number`, {
        hint: "Use e.g. 1000.",
      });
    await this.journal.flush();
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

  async *scanRaw(batchSize = 1000): AsyncIterable<RawLedgerRow[]> {
    await this.journal.flush();
    yield* scanRawPages(this.db, batchSize);
  }

  async appendOutcome(row: OutcomeRow): Promise<void> {
    await this.journal.flush();
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
    await this.journal.flush();
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
    await this.journal.flush();
    const rows = await this.db.query<OutcomeDbRow>(
      `SELECT ${OUTCOME_COLUMNS} FROM fabra_outcomes WHERE context_id = $1 ORDER BY recorded_at, outcome_id`,
      [contextId],
    );
    return rows.map(toOutcomeRow);
  }

  /** The sequencer step (log.ts): on a connection of its own, integrating what this process appended since the last. */
  async integrateLog(): Promise<number> {
    // Records are queued for the log as they are acknowledged; a catch-up reads the table, so it starts once every
    // acknowledged record is in it.
    return integrate(this.db, await this.logDatabase(), (start) => this.journal.quiesced(start));
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

  async *scanLogLeaves(batchSize = 1000): AsyncIterable<LogLeaf[]> {
    await this.journal.flush(); // a leaf's record bytes are read from the table
    yield* scanLeaves(this.logQuery, LOG_TABLES, batchSize);
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
    await this.journal.release();
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
