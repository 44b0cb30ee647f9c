// Where a journal write's fdatasync runs (journal.ts's append): on the calling thread, the quickest for a lone
// append (two system calls, no round trip through libuv's thread pool, whose threads wait for a core on a loaded
// machine, and no timers or background moves run in the middle of it), or on the thread pool, so the event loop
// meanwhile takes the requests whose appends join the next commit.
//
// The pool is chosen when the write can have company, as known the moment it begins: several rows in it, appends
// already queued behind it, or other callers (util/company.ts: assemblies in flight besides its rows' own, or
// several clients connected to this process's server). A lone caller appending record after record has none of
// these, so its syncs stay on its thread (assemble bench, quick, alternated: overhead p50 1.1–1.5 ms, p99 2.8–5.3
// on the calling thread against 1.7–2.3 and 7.9–11.4 with every sync on the pool).
//
// An earlier rule guessed company from timing (a write soon after the previous one probed the pool; a probe nobody
// joined sent lone writes to the calling thread for 100 ms to 1.6 s). Under a server's load it fed itself: a sync on
// the calling thread keeps the other clients' requests unread, so the next write looked lone again (serve-context,
// 16 connections: 2.2 rows per commit, 796 req/s).
import { mayHaveCompany } from "../../util/company.js";

/** Whether a journal write of `rows` rows, with `queued` appends waiting behind it, syncs on libuv's thread pool. */
export function syncsOnPool(rows: number, queued: number): boolean {
  return rows > 1 || queued > 0 || mayHaveCompany(rows);
}
