// The transparency log's sequencer on a DuckDB file. One process holds the file, so the entries appended since the
// last step are known in memory: the record store queues each one (id and text) when its append commits, and a step
// integrates the queue, never scanning the ledger. The first step in a process (or after the queue overflowed) finds
// what is pending by an anti-join once. Steps run on a connection of their own, so they never queue behind appends
// (or appends behind them), and take turns through one chain per file (the lock).
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import {
  alreadyIntegrated,
  integrateEntries,
  type LogInsert,
  type LogQuery,
  type LogTables,
  logSize,
  type PendingEntry,
  ROUND,
  unintegrated,
} from "../transparency-log.js";
import type { DuckDatabase } from "./database.js";

export const LOG_TABLES: LogTables = {
  records: "fabra_context_records",
  outcomes: "fabra_outcomes",
  leaves: "fabra_tlog_leaves",
  nodes: "fabra_tlog_nodes",
  tiles: "fabra_tlog_tiles",
  checkpoints: "fabra_tlog_checkpoints",
};

/** More queued than this (a process that appends and never integrates): the queue is dropped for a catch-up. */
const MAX_QUEUED = 20_000;

interface FileLog {
  /** Entries appended since the last step, in commit order. */
  queue: PendingEntry[];
  /** False until a catch-up found what was pending before this process queued anything. */
  caughtUp: boolean;
  /** The chain of steps (one at a time per file). */
  turn: Promise<unknown>;
}

/** Per open DuckDB file (DuckDatabase.file: the same object for every connection to it). */
const files = new WeakMap<object, FileLog>();

function fileLog(db: DuckDatabase): FileLog {
  let log = files.get(db.file);
  if (!log) {
    log = { queue: [], caughtUp: false, turn: Promise.resolve() };
    files.set(db.file, log);
  }
  return log;
}

/** Called by the store once an entry is durable (a record: its journal frame synced): the next step integrates it. */
export function queueLeaf(db: DuckDatabase, id: string, text: string): void {
  const log = fileLog(db);
  if (!log.caughtUp) return; // the catch-up will find it
  if (log.queue.length >= MAX_QUEUED) {
    log.queue = [];
    log.caughtUp = false;
    return;
  }
  log.queue.push({ id, text });
}

/** Rows through DuckDB's appender (numbers as BIGINT, strings as VARCHAR), on the step's transaction. */
function appenderInsert(c: DuckDBConnection): LogInsert {
  return async (table, _columns, rows) => {
    if (rows.length === 0) return;
    const appender: DuckDBAppender = await c.createAppender(table);
    try {
      for (const row of rows) {
        for (const v of row) {
          if (typeof v === "number") appender.appendBigInt(BigInt(v));
          else appender.appendVarchar(v);
        }
        appender.endRow();
      }
      appender.flushSync();
    } catch (err) {
      appender.clear(); // nothing left to flush when it is closed or collected (see offline-write.ts)
      throw err;
    } finally {
      appender.closeSync();
    }
  };
}

/** One round in one transaction on `logDb`; returns how many were integrated. */
async function round(logDb: DuckDatabase, take: (q: LogQuery) => Promise<PendingEntry[]>): Promise<PendingEntry[]> {
  return logDb.transaction(async (_run, c) => {
    const q: LogQuery = async <T>(sql: string, params: unknown[] = []) =>
      (await c.runAndReadAll(sql, params as never)).getRowObjectsJS() as T[];
    const entries = await take(q);
    if (entries.length > 0)
      await integrateEntries(q, appenderInsert(c), LOG_TABLES, await logSize(q, LOG_TABLES), entries);
    return entries;
  });
}

/**
 * The sequencer step on the file behind `db`, run on `logDb` (a second connection to it). Returns the tree size.
 * `beforeCatchUp` (the record store's journal) runs the start of a catch-up once every acknowledged entry is in the
 * table and none is being acknowledged, so the catch-up's table scan and the queue miss nothing between them.
 */
export function integrate(
  db: DuckDatabase,
  logDb: DuckDatabase,
  beforeCatchUp: (start: () => void) => Promise<void> = async (start) => start(),
): Promise<number> {
  const log = fileLog(db);
  const step = log.turn.then(async () => {
    if (!log.caughtUp) {
      // Queue from now on; whatever committed before the catch-up's snapshot is found by it (and dropped from the
      // queue if it was queued meanwhile).
      await beforeCatchUp(() => {
        log.caughtUp = true;
        log.queue = [];
      });
      try {
        const seen = new Set<string>();
        for (;;) {
          const done = await round(logDb, (q) => unintegrated(q, LOG_TABLES, ROUND));
          for (const e of done) seen.add(e.id);
          if (done.length < ROUND) break;
        }
        if (seen.size > 0) log.queue = log.queue.filter((e) => !seen.has(e.id));
      } catch (err) {
        log.caughtUp = false;
        throw err;
      }
    }
    while (log.caughtUp && log.queue.length > 0) {
      const queue = log.queue;
      const batch = queue.slice(0, ROUND);
      try {
        await round(logDb, async () => batch);
      } catch (err) {
        // An entry queued twice (it committed just before a catch-up saw it) breaks the leaf table's unique id: drop
        // the ones that have a leaf, and try again; anything else is reported, the queue kept for the next step.
        const have = await alreadyIntegrated(
          (sql, params) => logDb.query(sql, params as never),
          LOG_TABLES,
          batch.map((e) => e.id),
        );
        if (have.size === 0) throw err;
        if (log.queue === queue) log.queue = queue.filter((e) => !have.has(e.id));
        continue;
      }
      // (A queue that overflowed meanwhile was replaced: the catch-up of the next step finds the rest.)
      if (log.queue === queue) queue.splice(0, batch.length);
    }
    return logSize((sql, params) => logDb.query(sql, params as never), LOG_TABLES);
  });
  log.turn = step.catch(() => undefined);
  return step;
}
