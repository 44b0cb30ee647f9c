// Where a journal write's fdatasync runs (journal.ts's append): on the calling thread, the quickest for a lone
// append (two system calls, no round trip through libuv's thread pool, whose threads wait for a core on a loaded
// machine), or on the thread pool, so the event loop meanwhile takes the requests whose appends join the next commit.
//
// A write of several rows, or one that begins within BUSY_MS of the previous one, syncs on the pool: others may be
// appending (as Postgres's commit_siblings: wait for company only when there is some). A pool sync that found no
// company (one row, no append waiting and no other assembly begun when it ended — util/assemblies-in-flight.ts: one
// caller appending record after record, not concurrent ones) sends the lone appends after it back to the calling
// thread for QUIET_MS, doubled by each such sync up to QUIET_MAX_MS and ended by the first pool sync that had company.
// Company can only show during a pool sync: while a sync holds the calling thread, no other request even begins.
// A pool sync lets the event loop run, in the middle of an append, the timers and background work (moves into DuckDB, their statements' binding on the main thread) that were
// waiting: one caller's consecutive appends, coming < 3 ms apart on a quiet machine, paid for that (assemble bench,
// alternating quick runs at load ~6: overhead p99 35 ms with every sync on the calling thread, 43–73 ms with every
// sync on the pool, background moves overlapping 110–127 of 200 assemblies against none).

/** A write beginning within this long of the previous one may have company. */
export const BUSY_MS = 3;
export const QUIET_MS = 100;
export const QUIET_MAX_MS = 1600;

export class SyncPlace {
  /** When the last write began (performance.now()). */
  private lastWrite = Number.NEGATIVE_INFINITY;
  /** Lone writes sync on the calling thread until then. */
  private quietUntil = Number.NEGATIVE_INFINITY;
  private quietMs = QUIET_MS;

  /** For a write of `rows` rows beginning at `now`: whether it syncs on the thread pool. */
  onPool(rows: number, now: number): boolean {
    const pool = rows > 1 || (now - this.lastWrite < BUSY_MS && now >= this.quietUntil);
    this.lastWrite = now;
    return pool;
  }

  /** After a pool sync ending at `now`: whether appends came with it or arrived during it. */
  heard(company: boolean, now: number): void {
    if (company) {
      this.quietUntil = Number.NEGATIVE_INFINITY;
      this.quietMs = QUIET_MS;
      return;
    }
    this.quietUntil = now + this.quietMs;
    this.quietMs = Math.min(this.quietMs * 2, QUIET_MAX_MS);
  }
}
