// Durable ledger appends for a DuckDB file: each group commit (ledger-commit.ts) is made durable by one journal
// write and fdatasync (journal.ts), and the journal's rows are moved into DuckDB in the background, many per DuckDB
// transaction. One per open DuckDB file in the process (the process holding the file's lock), shared by its stores.
//
// What an append answers is decided before its frame is written, exactly as the table's primary key would: a row
// DuckDB would refuse (a created_at it cannot read, a token count that is not an integer) is refused; an id waiting
// in the journal or stored in DuckDB (looked up only when the id filter says it may be) is "exists" or
// RECORD_CONFLICT. Readers see every acknowledged row: `get` looks at the waiting rows first, everything else calls
// `flush()` (the rows acknowledged so far moved into DuckDB) before it reads. A frame is dropped from the journal
// only after DuckDB committed its row; on open, the rows left in the journal (a crash) are moved in, idempotently
// by id, before anything else reads the file.
import { FabraError } from "../../errors.js";
import { fromEpochMicros, normalizeDatetime } from "../../record/datetime.js";
import type { LedgerRow } from "../types.js";
import { conflictError } from "../record-conflict.js";
import type { RowResult } from "../ledger-commit.js";
import { canonicalPath, DuckDatabase } from "./database.js";
import { BIGINT, BOOLEAN, LIST, listValue, VARCHAR } from "./driver.js";
import { IdFilter } from "./id-filter.js";
import { Journal, type JournalFile } from "./journal.js";
import { queueLeaf } from "./log.js";
import { syncsOnPool } from "./sync-place.js";

/**
 * How many rows one statement moves in (each column bound as one list, unnested side by side): up to
 * STATEMENT_ROWS, and no more than STATEMENT_CHARS of record text. Binding the lists copies every value on the main
 * thread: ~11.5 KB records took 0.4–0.7 ms per 16–64 rows, 10 ms per 256 and 72–109 ms per 512 (one move's worth), a
 * stall of every request in flight; the text bound per statement keeps each step under a millisecond, and the event
 * loop runs between them (each statement runs on DuckDB's threads). Each statement also costs DuckDB ~0.4 ms of CPU
 * whatever its size (1 KB records: 30 µs a row at 16 rows a statement, 17 at 64, 8.5 at 256), so small records
 * go many to a statement.
 */
const STATEMENT_ROWS = 64;
const STATEMENT_CHARS = 192 * 1024;
/** `rows` in consecutive parts of at most STATEMENT_ROWS rows and STATEMENT_CHARS of text (one row at least). */
function* statementParts(rows: readonly LedgerRow[]): Iterable<readonly LedgerRow[]> {
  let start = 0;
  let chars = 0;
  for (let i = 0; i < rows.length; i++) {
    const size = (rows[i] as LedgerRow).canonicalText.length;
    if (i > start && (i - start === STATEMENT_ROWS || chars + size > STATEMENT_CHARS)) {
      yield rows.slice(start, i);
      start = i;
      chars = 0;
    }
    chars += size;
  }
  if (start < rows.length) yield rows.slice(start);
}
const INSERT_MANY = `INSERT INTO fabra_context_records (context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text, imported)
  SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[])::TIMESTAMP, unnest($3::VARCHAR[]), unnest($4::VARCHAR[]), unnest($5::BIGINT[]), unnest($6::VARCHAR[]), unnest($7::VARCHAR[]), unnest($8::VARCHAR[]), unnest($9::BOOLEAN[])`;
/** The lists' types, bound explicitly: inferred from the values, a list starting with NULL would bind as all NULL. */
const TEXT = LIST(VARCHAR);
const INSERT_TYPES = [TEXT, TEXT, TEXT, TEXT, LIST(BIGINT), TEXT, TEXT, TEXT, LIST(BOOLEAN)];

/**
 * Waiting rows are moved into DuckDB this long after the first of them (by default), or at once when there are this
 * many: each move is a DuckDB commit (its own WAL sync, and CPU on DuckDB's threads) that competes with the appends'
 * syncs, so fewer, larger moves keep appends near the cost of one fdatasync (20 ms: append p50 5.3 ms at load 13;
 * 1 s: 0.5 ms). Reads move the waiting rows in first, so the delay is never seen, only the first read's wait.
 */
const MOVE_DELAY_MS = 250;
const MOVE_ROWS = 512;
/** After a failed move, the next try waits this long (reads that flush meanwhile get the error). */
const RETRY_MS = 1000;

export interface JournalOptions {
  /** How long after the first waiting row a move into DuckDB starts (default 250 ms; the first opener's value holds). */
  moveDelayMs?: number;
}

/** The open journal of each DuckDB file in this process, with the stores using it. */
const files = new Map<string, { journal: Promise<LedgerJournal>; users: number }>();
/** Journals whose last user is closing them (moving their rows in). */
const closing = new Map<string, Promise<void>>();

export class LedgerJournal {
  /** Acknowledged rows not yet moved into DuckDB, by id. */
  private readonly waiting = new Map<string, LedgerRow>();
  private readonly ids: IdFilter;
  /** Writes and rotations of the journal, one at a time. */
  private turn: Promise<unknown> = Promise.resolve();
  /** A sealed journal file whose rows are not yet committed in DuckDB (a move failed part way). */
  private sealed: JournalFile | null = null;
  private moving: Promise<void> | null = null;
  /** The sealed file's rows being committed in DuckDB. */
  private inserting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private acknowledged = 0;
  private moved = 0;

  private constructor(
    private readonly db: DuckDatabase,
    private readonly journal: Journal,
    private readonly moveDelayMs: number,
  ) {
    this.ids = new IdFilter(db, () => this.waiting.keys());
  }

  /** The journal of the DuckDB file `path` (its fabra_context_records table created), opened by the first user. */
  static async acquire(named: string, options: JournalOptions = {}): Promise<LedgerJournal> {
    const path = canonicalPath(named);
    let entry = files.get(path);
    if (!entry) {
      // A journal still being closed by its last user is closed before the file's frames are read again.
      const opened = (closing.get(path) ?? Promise.resolve()).then(() =>
        LedgerJournal.open(path, options.moveDelayMs ?? MOVE_DELAY_MS),
      );
      entry = { journal: opened, users: 0 };
      files.set(path, entry);
      const mine = entry;
      opened.catch(() => {
        if (files.get(path) === mine) files.delete(path);
      });
    }
    entry.users++; // counted before the wait, so a release meanwhile cannot close it under this user
    try {
      return await entry.journal;
    } catch (err) {
      entry.users--;
      throw err;
    }
  }

  private static async open(path: string, moveDelayMs: number): Promise<LedgerJournal> {
    const db = await DuckDatabase.open(path);
    try {
      const { journal, recovered } = await Journal.open(path);
      const ledger = new LedgerJournal(db, journal, moveDelayMs);
      try {
        // Rows a crash left in the journal; queued for the log as a move of them would have been acknowledged.
        const moved = await ledger.insert(recovered).catch((err: unknown) => {
          throw recoveryConflict(path, err);
        });
        for (const row of moved) queueLeaf(db, row.contextId, row.canonicalText);
        await journal.reset();
      } catch (err) {
        await journal.close(false);
        throw err;
      }
      ledger.ids.build().catch(() => undefined); // until built, every id is looked up
      return ledger;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /**
   * One group commit's rows (distinct ids): each one's outcome; the new ones durable in the journal when it resolves.
   * `queued`: how many appends wait for the next commit (read as the journal write begins: see sync-place.ts).
   */
  write(rows: readonly LedgerRow[], queued: () => number): Promise<RowResult[]> {
    const run = this.turn.then(() => this.writeNow(rows, queued));
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async writeNow(rows: readonly LedgerRow[], queued: () => number): Promise<RowResult[]> {
    // Closed: SHUTTING_DOWN before any lookup (one in a closed DuckDB would say STORE_UNAVAILABLE, a disk fault).
    this.journal.assertOpen();
    const results: (RowResult | undefined)[] = [];
    const admitted: (LedgerRow | null)[] = [];
    const lookUp: string[] = [];
    for (const row of rows) {
      const stored = await this.admit(row);
      const ok = stored instanceof FabraError ? null : stored;
      // Looked up by the id as the table holds it (asStored): two spellings of one stored id are one id.
      const waiting = ok ? this.waiting.get(ok.contextId) : undefined;
      admitted.push(ok);
      results.push(ok ? (waiting ? sameOrConflict(ok, waiting.recordHash) : undefined) : (stored as FabraError));
      if (ok && !waiting && this.ids.mayHave(ok.contextId)) lookUp.push(ok.contextId);
    }
    if (lookUp.length > 0) {
      const stored = await this.storedHashes(lookUp);
      admitted.forEach((row, i) => {
        const hash = row && results[i] === undefined ? stored.get(row.contextId) : undefined;
        if (row && hash !== undefined) results[i] = sameOrConflict(row, hash);
      });
    }
    const fresh = admitted.filter((r, i): r is LedgerRow => r !== null && results[i] === undefined);
    if (fresh.length > 0) {
      // Appends arriving faster than a sync takes share commits only if the event loop runs during the sync.
      await this.journal.append(fresh, syncsOnPool(fresh.length, queued()));
      for (const row of fresh) {
        this.waiting.set(row.contextId, row);
        this.ids.add(row.contextId);
        // Durable from now on: the transparency log's next step integrates it, in acknowledgement order, from the
        // journal's row (its readers of record bytes move the rows into DuckDB first).
        queueLeaf(this.db, row.contextId, row.canonicalText);
      }
      this.acknowledged += fresh.length;
      this.schedule();
    }
    return results.map((r) => r ?? "inserted");
  }

  /**
   * The row as the table will hold it (a copy; created_at in the form DuckDB gives back), or why DuckDB would
   * refuse its values: decided before the row is acknowledged, so a move into DuckDB never meets a refusal.
   */
  private async admit(row: LedgerRow): Promise<LedgerRow | FabraError> {
    const strings = [row.contextId, row.contextFunction, row.environment, row.recordHash, row.canonicalText];
    if (
      strings.some((s) => typeof s !== "string") ||
      (row.previousContextId !== null && typeof row.previousContextId !== "string")
    )
      return refused(row, "a column is missing or not text");
    if (!Number.isSafeInteger(row.tokenCount)) return refused(row, `token_count ${row.tokenCount} is not an integer`);
    let createdAt = row.createdAt;
    if (!isNormalDatetime(createdAt)) {
      // Not fabra's own form: as DuckDB reads it (the table's column is a TIMESTAMP, read back in normal form).
      const [cast] = await this.db.query<{ us: bigint | null }>(
        "SELECT epoch_us(TRY_CAST($1::VARCHAR AS TIMESTAMP)) AS us",
        [createdAt],
      );
      if (cast?.us === null || cast?.us === undefined)
        return refused(row, `created_at ${JSON.stringify(createdAt)} is not a timestamp`);
      try {
        createdAt = fromEpochMicros(cast.us);
      } catch (err) {
        return refused(row, (err as Error).message);
      }
    }
    return {
      contextId: asStored(row.contextId),
      createdAt,
      contextFunction: asStored(row.contextFunction),
      environment: asStored(row.environment),
      tokenCount: row.tokenCount,
      recordHash: asStored(row.recordHash),
      previousContextId: row.previousContextId === null ? null : asStored(row.previousContextId),
      canonicalText: asStored(row.canonicalText),
      ...(row.imported === true ? { imported: true } : {}),
    };
  }

  /** The row of `contextId` acknowledged and not yet moved into DuckDB (read-your-writes for `get`). */
  waitingRow(contextId: string): LedgerRow | undefined {
    const row = this.waiting.get(contextId);
    return row ? { ...row } : undefined;
  }

  /** Resolves once every row acknowledged before the call is committed in DuckDB (rejects if a move fails). */
  async flush(): Promise<void> {
    const target = this.acknowledged;
    while (this.moved < target) await this.move();
  }

  /**
   * Runs `fn` with appends held (none is acknowledged meanwhile) once every acknowledged row is in DuckDB: for the
   * start of the transparency log's catch-up, which finds what to integrate in the table.
   */
  quiesced<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.inTurn(async () => {
      for (;;) {
        if (this.inserting) {
          await this.inserting;
          continue;
        }
        const file = this.sealed ?? this.rotate();
        if (!file) return fn();
        await this.moveFile(file);
      }
    });
  }

  /** Runs `fn` between two journal writes (writes and rotations take turns). */
  private inTurn<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.turn.then(fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /** Moves the rows of the active journal file (or of a sealed one left by a failed move) into DuckDB. */
  private move(): Promise<void> {
    this.moving ??= this.moveNow().finally(() => {
      this.moving = null;
    });
    return this.moving;
  }

  private async moveNow(): Promise<void> {
    // Rotated between two writes, so every frame of the sealed file is whole and its rows acknowledged.
    const file = this.sealed ?? (await this.inTurn(() => this.sealed ?? this.rotate()));
    if (file) await this.moveFile(file);
  }

  /** Seals the active file (null when it is empty); appends go to the other one from now on. */
  private rotate(): JournalFile | null {
    if (!this.journal.hasRows) return null;
    this.sealed = this.journal.rotate();
    return this.sealed;
  }

  /** Commits the sealed file's rows in DuckDB, then empties it (one move at a time). */
  private moveFile(file: JournalFile): Promise<void> {
    this.inserting ??= (async () => {
      await this.insert(file.rows);
      for (const row of file.rows) if (this.waiting.get(row.contextId) === row) this.waiting.delete(row.contextId);
      this.moved += file.rows.length;
      this.sealed = null;
      await this.journal.clear(file);
    })().finally(() => {
      this.inserting = null;
    });
    return this.inserting;
  }

  /** Moves waiting rows in soon (a timer, or at once for a large backlog); a failed move is tried again later. */
  private schedule(delay = this.moveDelayMs): void {
    if (this.waiting.size >= MOVE_ROWS && !this.moving) {
      this.move().catch(() => this.schedule(RETRY_MS));
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.move().then(
        () => {
          if (this.waiting.size > 0) this.schedule();
        },
        () => this.schedule(RETRY_MS),
      );
    }, delay);
    this.timer.unref();
  }

  /**
   * Inserts `rows` (journal order) in one transaction. Rows already stored with the same hash (moved in before a
   * crash, or by a move whose journal clear failed) are skipped; the rest are committed together or not at all, and
   * returned.
   */
  private async insert(rows: readonly LedgerRow[]): Promise<LedgerRow[]> {
    const stored = await this.storedHashes(rows.map((r) => r.contextId));
    /** Each id's hash, the table's or its first row's: a twin among the rows (a forged frame) is refused as one in the table. */
    const seen = new Map<string, string>();
    const fresh: LedgerRow[] = [];
    for (const row of rows) {
      const hash = stored.get(row.contextId) ?? seen.get(row.contextId);
      // Not reached for rows this process acknowledged (checked before); a crafted or damaged journal on open.
      if (hash !== undefined && hash !== row.recordHash) throw conflictError(row.contextId, hash, row.recordHash);
      if (hash === undefined) fresh.push(row);
      seen.set(row.contextId, row.recordHash);
    }
    if (fresh.length === 0) return fresh;
    await this.db.transaction(async (_run, c) => {
      const statement = await c.prepare(INSERT_MANY);
      for (const part of statementParts(fresh)) {
        const column = <T>(pick: (r: LedgerRow) => T) => listValue(part.map(pick) as never[]);
        statement.bind(
          [
            column((r) => r.contextId),
            column((r) => r.createdAt),
            column((r) => r.contextFunction),
            column((r) => r.environment),
            column((r) => BigInt(r.tokenCount)),
            column((r) => r.recordHash),
            column((r) => r.previousContextId),
            column((r) => r.canonicalText),
            column((r) => r.imported === true),
          ],
          INSERT_TYPES,
        );
        await statement.run();
      }
    });
    return fresh;
  }

  /** The stored record_hash of each of `ids` that is in the table. */
  private async storedHashes(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ context_id: string; record_hash: string }>(
      "SELECT context_id, record_hash FROM fabra_context_records WHERE context_id IN (SELECT unnest($1::VARCHAR[]))",
      [listValue([...ids])],
    );
    return new Map(rows.map((r) => [r.context_id, r.record_hash]));
  }

  /** One user is done: the last one moves every row in, closes the journal (deleting its empty files) and its connection. */
  async release(): Promise<void> {
    const path = this.db.key;
    const entry = files.get(path);
    if (entry && --entry.users > 0) return;
    files.delete(path);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const done = (async () => {
      let moved = true;
      try {
        await this.flush();
      } catch {
        moved = false; // the rows stay in the journal: the next open moves them in
      }
      await this.journal.close(moved);
      await this.db.close();
    })();
    const settled = done.catch(() => undefined);
    closing.set(path, settled);
    try {
      await done;
    } finally {
      if (closing.get(path) === settled) closing.delete(path);
    }
  }
}

/** A twin met while moving in what a crash left: the journal (or the table) was altered outside fabra. */
function recoveryConflict(path: string, err: unknown): unknown {
  if (!(err instanceof FabraError) || err.code !== "RECORD_CONFLICT") return err;
  return new FabraError("RECORD_CONFLICT", `The ledger journal of ${path} cannot be moved in: ${err.message}`, {
    hint: `fabra never acknowledges two records with one id, so ${path}.journal-0/-1 or the table were altered outside fabra; keep copies of the files as evidence and compare the two records before moving the journal files aside.`,
    details: err.details,
    cause: err,
  });
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * `text` as a VARCHAR column gives it back: DuckDB stores UTF-8, a lone surrogate as U+FFFD (as Buffer.from encodes
 * it), so the waiting row reads as the moved one will. Only text with a surrogate is re-encoded.
 */
function asStored(text: string): string {
  return SURROGATE.test(text) ? Buffer.from(text, "utf8").toString("utf8") : text;
}

function refused(row: LedgerRow, why: string): FabraError {
  return new FabraError("INVALID_RECORD", `Ledger row ${String(row.contextId)}: ${why}; it was not appended`, {
    hint: "Ledger rows come from sealed records (created_at in CRS-001 normal form, e.g. 2026-03-01T09:15:02.123456Z).",
  });
}

function sameOrConflict(row: LedgerRow, storedHash: string): RowResult {
  return storedHash === row.recordHash ? "exists" : conflictError(row.contextId, storedHash, row.recordHash);
}

/** fabra's own datetime form (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, a real instant), which DuckDB's TIMESTAMP takes. */
function isNormalDatetime(text: string): boolean {
  if (text.length < 20 || text.length > 27 || text.charCodeAt(text.length - 1) !== 90 /* Z */) return false;
  try {
    return normalizeDatetime(text) === text;
  } catch {
    return false;
  }
}
