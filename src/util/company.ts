// Whether a ledger write may have company: other callers about to append, who would join the next commit if the
// write let the event loop run (a sync on libuv's thread pool, a commit started after the loop's turn) instead of
// holding it (a sync on the calling thread, a commit on the next microtask: quickest for a lone caller). Two counts
// feed it, kept where they are known and read by the ledger's write path (stores/ledger-commit.ts,
// stores/duckdb/sync-place.ts), as Postgres's commit_siblings counts the other active backends:
// - assemblies begun and not finished in this process (engine/context/assemble.ts counts them);
// - HTTP clients connected to a server in this process (server/serve.ts counts them). This is what shows company
//   under a server's load: a cached assembly runs from its request's socket event to its append without giving the
//   loop back, so the other clients' requests are still unread (no assembly begun) when the first one writes.

let assemblies = 0;
let clients = 0;

/** Counts one from now until the returned `done()` (call it once, in a finally or on close; later calls do nothing). */
function counter(add: (n: number) => void): () => void {
  add(1);
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    add(-1);
  };
}

/** Counts an assembly from its start until `done()`. */
export const assemblyBegun = (): (() => void) => counter((n) => (assemblies += n));

/** Counts a client connection from accept until `done()` (its close). */
export const clientConnected = (): (() => void) => counter((n) => (clients += n));

/** Assemblies begun and not finished (0 when the appends come from elsewhere: replays of files, imports, receipts). */
export function assembliesInFlight(): number {
  return assemblies;
}

/** Client connections open to a server in this process. */
export function connectedClients(): number {
  return clients;
}

/**
 * Whether a write holding `rows` rows may have company: assemblies in flight besides those rows' own, or more than
 * one client connected.
 */
export function mayHaveCompany(rows: number): boolean {
  return assemblies > rows || clients > 1;
}
