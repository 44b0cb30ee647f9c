// The ledger on Postgres: append-only rows holding each record's exact canonical text (`text`, the source of every
// hash), plus indexed lookup columns. Triggers (migration 1) refuse UPDATE, DELETE and TRUNCATE in the database
// itself; nothing here tries. Many processes may append at once.
import { FabraError } from "../../errors.js";
import { fromEpochMicros } from "../../record/datetime.js";
import { requireNormalContextId } from "../../record/id.js";
import { openMigrated } from "./migrate.js";
import { epochMicrosSql, type PgDatabase, type PgTarget } from "./pool.js";
import type { AppendOutcome, LedgerRow, OutcomeRow, RecordFilter, RecordStore, StoreCheck } from "../types.js";
import { probeLedger } from "./probe.js";
import { conflictError } from "../record-conflict.js";
import { type CommitStats, insertSortingOutStored, LedgerCommitQueue, type RowResult } from "../ledger-commit.js";
import { ledgerWhere, listLimit, scanLedger, type LedgerWhere, type RecordJsonSql } from "../record-filter.js";
import type { TreeFrontier } from "../../tlog/frontier.js";
import type { NodeKey } from "../../tlog/merkle.js";
import type { LogLeaf } from "../types.js";
import type { LogIndexEntry } from "../types.js";
import {
  alreadyIntegrated,
  integrateEntries,
  loadFrontier,
  leafIndexOf,
  listCheckpoints,
  saveCheckpoint,
  type LogQuery,
  type LogTables,
  logSize,
  type PendingEntry,
  ROUND,
  readNodes,
  readNodesViaTiles,
  scanIndex,
  scanLeaves,
  valuesInsert,
} from "../transparency-log.js";

const COLUMNS = `context_id, ${epochMicrosSql("created_at")} AS created_us, context_function, environment, token_count, record_hash, previous_context_id, canonical_text, imported`;

const UNIQUE_VIOLATION = "23505";

/**
 * The statement was refused for a row's values, not for the connection or the server: data exceptions (class 22,
 * e.g. a NUL character in text), integrity violations (23; an id already stored is sorted out before) and
 * program limits (54, e.g. a value too large). The batch is split to find the row; the others are committed.
 */
function isRowError(err: unknown): boolean {
  const code = err instanceof FabraError ? err.details?.code : undefined;
  return typeof code === "string" && /^(22|23|54)/.test(code);
}

const OUTCOME_COLUMNS = `outcome_id, context_id, ${epochMicrosSql("recorded_at")} AS recorded_us, entry_hash, canonical_text`;

interface OutcomeDbRow {
  outcome_id: string;
  context_id: string;
  recorded_us: string;
  entry_hash: string;
  canonical_text: string;
}

const toOutcomeRow = (r: OutcomeDbRow): OutcomeRow => ({
  outcomeId: r.outcome_id,
  contextId: r.context_id,
  recordedAt: fromEpochMicros(BigInt(r.recorded_us)),
  entryHash: r.entry_hash,
  canonicalText: r.canonical_text,
});

interface Row {
  context_id: string;
  created_us: string;
  context_function: string;
  environment: string;
  token_count: string;
  record_hash: string;
  previous_context_id: string | null;
  canonical_text: string;
  imported: boolean;
}

const toLedgerRow = (r: Row): LedgerRow => ({
  contextId: r.context_id,
  createdAt: fromEpochMicros(BigInt(r.created_us)),
  contextFunction: r.context_function,
  environment: r.environment,
  tokenCount: Number(r.token_count),
  recordHash: r.record_hash,
  previousContextId: r.previous_context_id,
  canonicalText: r.canonical_text,
  ...(r.imported === true ? { imported: true } : {}),
});

export class PostgresRecordStore implements RecordStore {
  readonly capabilities = { concurrentWriters: true, persistent: true, sharedAcrossProcesses: true };
  private readonly table: string;
  private readonly log: LogTables;
  /** The filters on what records hold, over the GIN-indexed jsonb of the text (migration 12). */
  private readonly recordJson: RecordJsonSql;

  private readonly commits: LedgerCommitQueue;
  private readonly queue: string;

  private constructor(readonly db: PgDatabase) {
    this.commits = new LedgerCommitQueue({
      write: (rows) => this.writeBatch(rows),
      isRowError,
      where: `Postgres ledger ${db.ident("fabra_context_records")}`,
    });
    this.table = db.ident("fabra_context_records");
    const doc = `${db.ident("fabra_record_json")}(canonical_text)`;
    this.recordJson = {
      contains: (part, param) => `(${doc} -> '${part}') @> ${param}::jsonb`,
      freshnessStatus: `(${doc} #>> '{assembly,freshness_status}')`,
      hasDrops: `(${doc} #> '{assembly,dropped_items}') <> '[]'::jsonb`,
    };
    this.log = {
      records: this.table,
      outcomes: db.ident("fabra_outcomes"),
      leaves: db.ident("fabra_tlog_leaves"),
      nodes: db.ident("fabra_tlog_nodes"),
      tiles: db.ident("fabra_tlog_tiles"),
      checkpoints: db.ident("fabra_tlog_checkpoints"),
    };
    this.queue = db.ident("fabra_tlog_queue");
  }

  static async open(target: PgTarget): Promise<PostgresRecordStore> {
    const db = await openMigrated(target);
    return new PostgresRecordStore(db);
  }

  /**
   * Appends through the group commit (ledger-commit.ts): appends in flight share one INSERT (one transaction, one
   * WAL flush), and each resolves once the commit holding its row is durable (as the server's synchronous_commit
   * makes a commit durable).
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

  /** One commit of the queue: a lone row as one plain INSERT, more as one INSERT of unnested arrays. */
  private writeBatch(rows: readonly LedgerRow[]): Promise<RowResult[]> {
    return insertSortingOutStored(rows, {
      insertOne: (row) => this.insertOne(row),
      insertMany: (many) => this.insertMany(many),
      isDuplicate: (err) => err instanceof FabraError && err.details?.code === UNIQUE_VIOLATION,
      storedHashes: (ids) => this.storedHashes(ids),
    });
  }

  /**
   * One plain INSERT: the row is whole or absent. An id already there (unique violation) is then compared by hash:
   * the same record is "exists", another is RECORD_CONFLICT. Idempotent, so after a dropped connection it is
   * retried once on a fresh one, whether or not the first attempt reached the server.
   */
  private async insertOne(row: LedgerRow): Promise<RowResult> {
    try {
      await this.db.query(
        `INSERT INTO ${this.table} (context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text, imported)
         VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9)`,
        [
          row.contextId,
          row.createdAt,
          row.contextFunction,
          row.environment,
          row.tokenCount,
          row.recordHash,
          row.previousContextId,
          row.canonicalText,
          row.imported === true,
        ],
        { retry: true },
      );
      return "inserted";
    } catch (err) {
      if (!(err instanceof FabraError) || err.details?.code !== UNIQUE_VIOLATION) throw err;
    }
    const existing = await this.get(row.contextId);
    if (existing && existing.recordHash === row.recordHash) return "exists";
    return conflictError(row.contextId, existing?.recordHash ?? "(unknown)", row.recordHash);
  }

  /**
   * Many rows in ONE plain INSERT, in one transaction on one client (one WAL flush): each column bound as one array,
   * unnested in step. An id already stored fails it whole (unique violation: nothing written), sorted out by
   * insertSortingOutStored. Explicit BEGIN/COMMIT rather than autocommit: a server that multiplexes clients onto one
   * session (PGlite's socket server) serves only the transaction's client until it ends, so the statement's protocol
   * messages are never interleaved with another client's. Not retried: a dropped connection fails the batch (its
   * callers may append again; a record already stored is a no-op).
   */
  private async insertMany(rows: readonly LedgerRow[]): Promise<void> {
    const column = <T>(pick: (r: LedgerRow) => T) => rows.map(pick);
    await this.db.transaction((tx) =>
      tx.query(
        `INSERT INTO ${this.table} (context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text, imported)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::boolean[])`,
        [
          column((r) => r.contextId),
          column((r) => r.createdAt),
          column((r) => r.contextFunction),
          column((r) => r.environment),
          column((r) => r.tokenCount),
          column((r) => r.recordHash),
          column((r) => r.previousContextId),
          column((r) => r.canonicalText),
          column((r) => r.imported === true),
        ],
      ),
    );
  }

  /** The stored record_hash of each of `ids` that is in the ledger. */
  private async storedHashes(ids: readonly string[]): Promise<Map<string, string>> {
    const found = await this.db.query<{ context_id: string; record_hash: string }>(
      `SELECT context_id, record_hash FROM ${this.table} WHERE context_id = ANY($1::text[])`,
      [ids],
      { retry: true },
    );
    return new Map(found.map((r) => [r.context_id, r.record_hash]));
  }

  async get(contextId: string): Promise<LedgerRow | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM ${this.table} WHERE context_id = $1`, [contextId], {
      retry: true,
    });
    return rows[0] ? toLedgerRow(rows[0]) : null;
  }

  async getByHash(recordHash: string): Promise<LedgerRow | null> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.table} WHERE record_hash = $1 ORDER BY created_at, context_id LIMIT 1`,
      [recordHash],
      { retry: true },
    );
    return rows[0] ? toLedgerRow(rows[0]) : null;
  }

  async list(filter: RecordFilter = {}): Promise<LedgerRow[]> {
    const { where, params } = await this.whereClause(filter);
    const dir = filter.order === "asc" ? "ASC" : "DESC";
    params.push(listLimit(filter));
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.table} ${where} ORDER BY created_at ${dir}, context_id ${dir} LIMIT $${params.length}`,
      params,
      {
        retry: true,
      },
    );
    return rows.map(toLedgerRow);
  }

  async count(filter: Omit<RecordFilter, "limit" | "cursor" | "order"> = {}): Promise<number> {
    const { where, params } = await this.whereClause(filter);
    const rows = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table} ${where}`, params, {
      retry: true,
    });
    return Number(rows[0]?.n ?? 0);
  }

  scan(batchSize = 1000): AsyncIterable<LedgerRow[]> {
    return scanLedger((f) => this.list(f), batchSize);
  }

  /** The append-only triggers are on and a row inserts (rolled back: nothing written). */
  async appendOutcome(row: OutcomeRow): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.log.outcomes} (outcome_id, context_id, recorded_at, entry_hash, canonical_text)
       VALUES ($1, $2, $3::timestamptz, $4, $5)`,
      [row.outcomeId, row.contextId, row.recordedAt, row.entryHash, row.canonicalText],
    );
  }

  async listOutcomes(contextId: string): Promise<OutcomeRow[]> {
    const rows = await this.db.query<OutcomeDbRow>(
      `SELECT ${OUTCOME_COLUMNS} FROM ${this.log.outcomes} WHERE context_id = $1 ORDER BY recorded_at, outcome_id`,
      [contextId],
    );
    return rows.map(toOutcomeRow);
  }

  /** Every outcome entry, in outcome_id order (keyset pages). */
  async *scanOutcomes(batchSize = 1000): AsyncIterable<OutcomeRow[]> {
    let after = "";
    for (;;) {
      const rows = await this.db.query<OutcomeDbRow>(
        `SELECT ${OUTCOME_COLUMNS} FROM ${this.log.outcomes} WHERE outcome_id > $1 ORDER BY outcome_id LIMIT $2`,
        [after, batchSize],
        { retry: true },
      );
      if (rows.length === 0) return;
      yield rows.map(toOutcomeRow);
      if (rows.length < batchSize) return;
      after = (rows[rows.length - 1] as OutcomeDbRow).outcome_id;
    }
  }

  async probe(): Promise<StoreCheck[]> {
    return [await probeLedger(this.db)];
  }

  /**
   * The sequencer step: each round is one transaction holding a transaction-scoped advisory lock on this schema's
   * log, so two processes integrating at once take turns (appenders never take it: they only insert records, whose
   * trigger queues them, migration 9). A round takes the oldest queued entries, gives them the next leaves and deletes
   * them from the queue; it never reads the ledger beyond them. The step ends with the first round that is not full:
   * it integrates what was queued when it began, never runs on while appends keep coming.
   */
  async integrateLog(): Promise<number> {
    for (;;) {
      const taken = await this.db.transaction(async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`fabra_tlog:${this.log.leaves}`]);
        const q: LogQuery = <T>(sql: string, params?: unknown[]) => tx.query<T>(sql, params);
        const queued = await q<{ queued: string; entry_id: string; text: string | null }>(
          `SELECT q.queued, q.entry_id, coalesce(r.canonical_text, o.canonical_text) AS text FROM ${this.queue} q
           LEFT JOIN ${this.log.records} r ON r.context_id = q.entry_id
           LEFT JOIN ${this.log.outcomes} o ON o.outcome_id = q.entry_id
           ORDER BY q.queued LIMIT ${ROUND}`,
        );
        if (queued.length === 0) return 0;
        // An id queued twice, or already integrated (a log rebuilt by hand), gets no second leaf.
        const have = await alreadyIntegrated(
          q,
          this.log,
          queued.map((e) => e.entry_id),
        );
        const seen = new Set<string>();
        const entries: PendingEntry[] = [];
        for (const e of queued) {
          if (e.text === null || have.has(e.entry_id) || seen.has(e.entry_id)) continue;
          seen.add(e.entry_id);
          entries.push({ id: e.entry_id, text: e.text });
        }
        // The frontier this process left, if no other process integrated since (the size under the lock says so).
        const size = await logSize(q, this.log);
        const from = this.frontier?.size === size ? this.frontier : await loadFrontier(q, this.log);
        this.frontier = null; // until this round commits
        const to = await integrateEntries(q, valuesInsert(q), this.log, from, entries);
        await q(`DELETE FROM ${this.queue} WHERE queued = ANY($1::bigint[])`, [queued.map((e) => e.queued)]);
        return { count: queued.length, to };
      });
      if (taken === 0) return this.logSize();
      this.frontier = taken.to;
      if (taken.count < ROUND) return taken.to.size;
    }
  }

  /** The log's size and right edge after this process's last round (the next round's start if still current). */
  private frontier: TreeFrontier | null = null;

  logSize(): Promise<number> {
    return logSize(this.logQuery, this.log);
  }

  readLogNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    return readNodes(this.logQuery, this.log, keys);
  }

  readLogProofNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    return readNodesViaTiles(this.logQuery, this.log, keys);
  }

  logLeafIndex(id: string): Promise<number | null> {
    return leafIndexOf(this.logQuery, this.log, id);
  }

  scanLogIndex(batchSize?: number): AsyncIterable<LogIndexEntry[]> {
    return scanIndex(this.logQuery, this.log, batchSize);
  }

  saveLogCheckpoint(size: number, note: string): Promise<void> {
    return saveCheckpoint(this.logQuery, this.log, size, note);
  }

  listLogCheckpoints(): Promise<{ size: number; note: string }[]> {
    return listCheckpoints(this.logQuery, this.log);
  }

  scanLogLeaves(batchSize = 1000): AsyncIterable<LogLeaf[]> {
    return scanLeaves(this.logQuery, this.log, batchSize);
  }

  private readonly logQuery: LogQuery = <T>(sql: string, params?: unknown[]) =>
    this.db.query<T>(sql, params, { retry: true });

  async close(): Promise<void> {
    await this.commits.idle();
    return this.db.close();
  }

  private async whereClause(filter: RecordFilter): Promise<LedgerWhere> {
    return ledgerWhere(
      filter,
      filter.cursor === undefined ? null : await this.get(filter.cursor),
      "timestamptz",
      this.recordJson,
    );
  }
}

export function open(target: PgTarget): Promise<PostgresRecordStore> {
  return PostgresRecordStore.open(target);
}
