// The transparency log's sequencer on a DuckDB file. One process holds the file, so the entries appended since the
// last step are known in memory: the record store queues each one (id and text) when its append commits, and a step
// integrates the queue, never scanning the ledger. When the file held entries without a leaf as the process opened
// it (or the queue overflowed), the first step finds what is pending by an anti-join once (the catch-up). Steps run on a connection of their own, so they never queue behind appends
// (or appends behind them), and take turns through one chain per file (the lock).
import type { DuckDBConnection } from "@duckdb/node-api";
import type { TreeFrontier } from "../../tlog/frontier.js";
import {
  alreadyIntegrated,
  integrateEntries,
  type LogInsert,
  type LogQuery,
  type LogTables,
  loadFrontier,
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
  leafHashes: "fabra_tlog_leaf_hashes",
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
  /**
   * The tree's size and right edge as the last committed round left them (only this process's steps write the log
   * of a file it holds), so a round reads no stored node; null until a round loads it, and after a round failed.
   */
  frontier: TreeFrontier | null;
  /** openLog's check, once per open file. */
  opened: Promise<void> | null;
}

/** Per open DuckDB file (DuckDatabase.file: the same object for every connection to it). */
const files = new WeakMap<object, FileLog>();

function fileLog(db: DuckDatabase): FileLog {
  let log = files.get(db.file);
  if (!log) {
    log = { queue: [], caughtUp: false, turn: Promise.resolve(), frontier: null, opened: null };
    files.set(db.file, log);
  }
  return log;
}

/**
 * Called when a store opens the file, before it appends: when every entry in the file has its leaf (as many
 * entries as leaves), this process's appends are queued from the start and no step needs the catch-up (an anti-join
 * of the whole ledger, at every process's first step); otherwise the first step catches up. Once per open file; a
 * failed check leaves it to the catch-up.
 */
export function openLog(db: DuckDatabase): Promise<void> {
  const log = fileLog(db);
  log.opened ??= db
    .query<{ entries: bigint | number; leaves: bigint | number }>(
      `SELECT (SELECT count(*) FROM ${LOG_TABLES.records}) + (SELECT count(*) FROM ${LOG_TABLES.outcomes}) AS entries,
         (SELECT count(*) FROM ${LOG_TABLES.leaves}) AS leaves`,
    )
    .then(([counts]) => {
      if (counts && Number(counts.entries) === Number(counts.leaves)) log.caughtUp = true;
    })
    .catch(() => undefined);
  return log.opened;
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

/**
 * Rows as one INSERT whose every column is bound as a single JSON array (numbers as BIGINT, strings as VARCHAR) and
 * unnested side by side by DuckDB, on the step's transaction. The main thread only serializes the arrays; DuckDB
 * parses and inserts them on its own threads. (Through the appender, flushSync inserted every row on the main thread:
 * ~5 ms a step under serve-context's load, a stall of every request in flight; binding each value as a list element
 * costs the main thread ~1 µs a value.)
 */
function jsonColumnsInsert(c: DuckDBConnection): LogInsert {
  return async (table, columns, rows) => {
    const first = rows[0];
    if (!first) return;
    const unnested = columns.map(
      (_, k) => `unnest(from_json($${k + 1}, '["${typeof first[k] === "number" ? "BIGINT" : "VARCHAR"}"]'))`,
    );
    await c.run(
      `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${unnested.join(", ")}`,
      columns.map((_, k) => JSON.stringify(rows.map((r) => r[k]))),
    );
  };
}

/** One round in one transaction on `logDb`; returns the entries integrated. */
async function round(
  log: FileLog,
  logDb: DuckDatabase,
  take: (q: LogQuery) => Promise<PendingEntry[]>,
): Promise<PendingEntry[]> {
  const from = log.frontier;
  log.frontier = null; // until this round commits
  const { entries, to } = await logDb.transaction(async (_run, c) => {
    const q: LogQuery = async <T>(sql: string, params: unknown[] = []) =>
      (await c.runAndReadAll(sql, params as never)).getRowObjectsJS() as T[];
    const taken = await take(q);
    const start = from ?? (await loadFrontier(q, LOG_TABLES));
    return { entries: taken, to: await integrateEntries(q, jsonColumnsInsert(c), LOG_TABLES, start, taken) };
  });
  log.frontier = to;
  return entries;
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
          const done = await round(log, logDb, (q) => unintegrated(q, LOG_TABLES, ROUND));
          for (const e of done) seen.add(e.id);
          if (done.length < ROUND) break;
        }
        if (seen.size > 0) log.queue = log.queue.filter((e) => !seen.has(e.id));
      } catch (err) {
        log.caughtUp = false;
        throw err;
      }
    }
    // What was queued when the step began (appends committed meanwhile wait for the next step: a step never runs on
    // for as long as appends keep coming, so the appends and the log's commits stay apart, coalesced by the sequencer).
    let left = log.queue.length;
    while (log.caughtUp && log.queue.length > 0 && left > 0) {
      const queue = log.queue;
      const batch = queue.slice(0, Math.min(ROUND, left));
      try {
        await round(log, logDb, async () => batch);
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
      left -= batch.length;
    }
    return log.frontier?.size ?? logSize((sql, params) => logDb.query(sql, params as never), LOG_TABLES);
  });
  log.turn = step.catch(() => undefined);
  return step;
}
