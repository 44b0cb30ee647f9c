// Group commit for ledger appends, shared by the SQL backends (a kind-level rule, like record-conflict.ts).
//
// Every append joins a queue. When no commit is running, one starts on the next microtask or, while commits have
// company, once the event loop's turn ends, with the appends made by then (a lone append costs one commit, as
// before); appends that arrive while a commit runs wait, and the next commit takes everything waiting
// (up to a batch's rows and bytes) and writes it in ONE transaction: N appends in flight cost about one commit, one
// WAL flush. Each caller's promise settles only after the transaction holding its row committed, so a record is
// durable (as the database makes a commit durable) before its caller hears "inserted". Commits run one at a time, in
// arrival order, and a batch's rows are written in (created_at, context_id) order: the order the transparency log's
// sequencer integrates them in, so commit order and log order agree.
//
// Failures: what belongs to one record fails only its caller. A second append of an id already in the batch (a
// twin) waits for the first and is "exists" or RECORD_CONFLICT against it; an id already stored is "exists" or
// RECORD_CONFLICT (the backend's writer reports both per row); a row the database refuses for its own content
// (`isRowError`) is found by splitting the batch, and the other rows are committed without it. Any other failure of
// a commit (connection lost, disk full, the COMMIT refused) fails every caller of that batch with one clear error,
// and the transaction wrote nothing.
import { FabraError } from "../errors.js";
import type { AppendOutcome, LedgerRow } from "./types.js";
import { conflictError } from "./record-conflict.js";
import { mayHaveCompany } from "../util/company.js";

/** One row's result from a batch write: its outcome, or the error that refused that row alone. */
export type RowResult = AppendOutcome | FabraError;

/**
 * Writes `rows` (distinct context ids, in (created_at, context_id) order) in one transaction and returns each row's
 * result in the same order. Throws when the transaction did not commit: then none of the rows was written.
 */
export type BatchWriter = (rows: readonly LedgerRow[]) => Promise<RowResult[]>;

export interface CommitQueueOptions {
  /** Writes one batch in one transaction (see BatchWriter). */
  write: BatchWriter;
  /** The error refused the batch because of one of its rows' content (the batch is split to find it). */
  isRowError?: (err: unknown) => boolean;
  /** Most rows in one commit (default 512). */
  maxRows?: number;
  /** Most canonical-text bytes (UTF-16 length, a cheap bound) in one commit; a larger row goes alone (default 8 MiB). */
  maxChars?: number;
  /** Told the ids each commit inserted, right after it committed (before their callers resume). */
  onCommitted?: (contextIds: readonly string[]) => void;
  /** Names the ledger in errors, e.g. "DuckDB ledger /x/fabra.duckdb". */
  where: string;
}

/** What the commit queue has done (benches and tests read it). */
export interface CommitStats {
  /** Transactions committed (or attempted). */
  commits: number;
  /** Rows handed to those transactions. */
  rows: number;
  /** The largest batch. */
  largestBatch: number;
}

interface Waiter {
  row: LedgerRow;
  resolve: (outcome: AppendOutcome) => void;
  reject: (err: unknown) => void;
  /** Later appends of the same id that arrived while this one was in a batch. */
  twins?: Waiter[];
}

const DEFAULT_MAX_ROWS = 512;
const DEFAULT_MAX_CHARS = 8 * 1024 * 1024;

const byLogOrder = (a: Waiter, b: Waiter): number =>
  a.row.createdAt < b.row.createdAt
    ? -1
    : a.row.createdAt > b.row.createdAt
      ? 1
      : a.row.contextId < b.row.contextId
        ? -1
        : a.row.contextId > b.row.contextId
          ? 1
          : 0;

export class LedgerCommitQueue {
  readonly stats: CommitStats = { commits: 0, rows: 0, largestBatch: 0 };
  private waiting: Waiter[] = [];
  private running: Promise<void> | null = null;
  /** Whether the last commit had company (several rows, or appends that arrived while it ran). */
  private company = false;
  private readonly maxRows: number;
  private readonly maxChars: number;

  constructor(private readonly options: CommitQueueOptions) {
    this.maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
    this.maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  }

  /** Appends `row` with the next commit; settles once that commit is durable (or failed). */
  append(row: LedgerRow): Promise<AppendOutcome> {
    return new Promise<AppendOutcome>((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      this.running ??= this.drainSoon();
    });
  }

  /** How many appends wait for the next commit. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves when nothing is waiting or being committed (close() awaits it before the database closes). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Starts the leader, then commits batch after batch until the queue is empty. While commits have company, or other
   * callers may be about to append (util/company.ts: other assemblies in flight, several clients connected), it
   * starts after the event loop's current turn (setImmediate, no timer): the appends of requests that have already
   * arrived join the first commit. A cached assembly runs from its request's socket event to its append without
   * giving the loop back, so under a server's load the next request is read only after the loop turns; started on a
   * microtask, each commit took one row (serve-context: 2.9 rows per commit at 16 connections; 7.5 with the turn). A
   * lone caller's append (one assembly after another) starts on the next microtask: in the turn, timers and
   * background work (the DuckDB journal's moves) would run inside its assembly (assemble bench: overhead p90 +0.8
   * ms, p99 +2-3 ms with the turn before every commit).
   */
  private async drainSoon(): Promise<void> {
    if (this.company || mayHaveCompany(this.waiting.length))
      await new Promise<void>((resolve) => setImmediate(resolve));
    else await Promise.resolve();
    try {
      while (this.waiting.length > 0) await this.commitNext();
    } catch (err) {
      // Not reached by design (commitBatch settles every caller itself); never leave a caller waiting for ever.
      for (const w of this.waiting.splice(0)) w.reject(err);
    } finally {
      this.running = null;
      // An append that arrived while the last batch's callers were being resolved starts the next leader.
      if (this.waiting.length > 0) this.running = this.drainSoon();
    }
  }

  /** Takes the next batch off the queue (twins attached to their first), commits it and settles its callers. */
  private async commitNext(): Promise<void> {
    const batch: Waiter[] = [];
    const byId = new Map<string, Waiter>();
    let chars = 0;
    let taken = 0;
    for (const w of this.waiting) {
      const first = byId.get(w.row.contextId);
      if (first) {
        if (first.twins) first.twins.push(w);
        else first.twins = [w];
        taken++;
        continue;
      }
      const size = w.row.canonicalText.length;
      if (batch.length > 0 && (batch.length >= this.maxRows || chars + size > this.maxChars)) break;
      batch.push(w);
      byId.set(w.row.contextId, w);
      chars += size;
      taken++;
    }
    this.waiting = this.waiting.slice(taken);
    batch.sort(byLogOrder);
    await this.commitBatch(batch);
    this.company = taken > 1 || this.waiting.length > 0;
  }

  /** Commits `batch` in one transaction; a row-level refusal splits it so only the refused rows fail. */
  private async commitBatch(batch: Waiter[]): Promise<void> {
    this.stats.commits++;
    this.stats.rows += batch.length;
    if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
    let results: RowResult[];
    try {
      results = await this.options.write(batch.map((w) => w.row));
      if (results.length !== batch.length)
        throw new FabraError("STORE_UNAVAILABLE", `${this.options.where}: a batch write answered for the wrong rows`, {
          hint: "This is a bug in fabra.",
        });
    } catch (err) {
      if (batch.length > 1 && this.rowError(err)) {
        const half = Math.ceil(batch.length / 2);
        await this.commitBatch(batch.slice(0, half));
        await this.commitBatch(batch.slice(half));
        return;
      }
      const failure = batch.length === 1 || !(err instanceof Error) ? err : this.commitFailed(err, batch.length);
      for (const w of batch) this.fail(w, failure);
      return;
    }
    const inserted: string[] = [];
    results.forEach((r, i) => {
      if (r === "inserted") inserted.push((batch[i] as Waiter).row.contextId);
    });
    if (inserted.length > 0) {
      try {
        this.options.onCommitted?.(inserted);
      } catch {
        // a listener's failure is not the append's: the rows are committed
      }
    }
    batch.forEach((w, i) => {
      const r = results[i] as RowResult;
      if (r instanceof Error) this.fail(w, r);
      else this.succeed(w, r);
    });
  }

  private rowError(err: unknown): boolean {
    try {
      return this.options.isRowError?.(err) === true;
    } catch {
      return false;
    }
  }

  private succeed(w: Waiter, outcome: AppendOutcome): void {
    w.resolve(outcome);
    // The first of the id is stored with this hash: each twin is that record again, or a conflict.
    for (const twin of w.twins ?? []) {
      if (twin.row.recordHash === w.row.recordHash) twin.resolve("exists");
      else twin.reject(conflictError(twin.row.contextId, w.row.recordHash, twin.row.recordHash));
    }
  }

  private fail(w: Waiter, err: unknown): void {
    w.reject(err);
    const twins = w.twins ?? [];
    if (twins.length === 0) return;
    const stored = err instanceof FabraError && err.code === "RECORD_CONFLICT" ? err.details?.storedHash : undefined;
    if (typeof stored === "string") {
      // The id is stored with another record: each twin is that one again, or a conflict with it.
      for (const twin of twins) {
        if (twin.row.recordHash === stored) twin.resolve("exists");
        else twin.reject(conflictError(twin.row.contextId, stored, twin.row.recordHash));
      }
      return;
    }
    // The first failed for its own reasons: the twins get their own turn, first in line.
    this.waiting.unshift(...twins);
  }

  private commitFailed(err: Error, rows: number): FabraError {
    const code = err instanceof FabraError ? err.code : "STORE_UNAVAILABLE";
    return new FabraError(
      code,
      `${this.options.where}: the commit of ${rows} records appended together failed, and none of them was written: ${err.message}`,
      {
        hint:
          (err instanceof FabraError && err.hint ? `${err.hint} ` : "") +
          "Appending the same records again is safe: a record already stored is a no-op.",
        cause: err,
        details: { ...(err instanceof FabraError ? err.details : {}), batchRows: rows },
      },
    );
  }
}

/** What a backend does for `insertSortingOutStored`. */
export interface BatchInserts {
  /** One row, one plain INSERT: "inserted", or "exists" / RECORD_CONFLICT when the id is stored. */
  insertOne(row: LedgerRow): Promise<RowResult>;
  /** Many rows in one plain INSERT statement (one transaction): all of them, or (throwing) none. */
  insertMany(rows: readonly LedgerRow[]): Promise<void>;
  /** The statement was refused because an id is already stored (the primary key). */
  isDuplicate(err: unknown): boolean;
  /** The stored record_hash of each of `ids` that is in the ledger. */
  storedHashes(ids: readonly string[]): Promise<Map<string, string>>;
}

/**
 * A batch writer over plain INSERTs (as a lone append is): the batch in one statement; only when an id is already
 * stored (the statement failed, nothing written) are the stored ids looked up, resolved as "exists" or a conflict,
 * and the rest committed without them. Another writer may store one of them in between: then once more.
 */
export async function insertSortingOutStored(rows: readonly LedgerRow[], db: BatchInserts): Promise<RowResult[]> {
  if (rows.length === 1) return [await db.insertOne(rows[0] as LedgerRow)];
  let pending = rows;
  const results = new Map<string, RowResult>();
  for (let attempt = 0; ; attempt++) {
    try {
      if (pending.length === 1) {
        const row = pending[0] as LedgerRow;
        results.set(row.contextId, await db.insertOne(row));
      } else if (pending.length > 1) await db.insertMany(pending);
      for (const r of pending) if (!results.has(r.contextId)) results.set(r.contextId, "inserted");
      return rows.map((r) => results.get(r.contextId) as RowResult);
    } catch (err) {
      if (attempt >= 2 || !db.isDuplicate(err)) throw err;
    }
    const stored = await db.storedHashes(pending.map((r) => r.contextId));
    for (const r of pending) {
      const hash = stored.get(r.contextId);
      if (hash !== undefined)
        results.set(r.contextId, hash === r.recordHash ? "exists" : conflictError(r.contextId, hash, r.recordHash));
    }
    pending = pending.filter((r) => !stored.has(r.contextId));
  }
}
