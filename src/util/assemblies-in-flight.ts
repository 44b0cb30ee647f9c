// How many context assemblies this process has begun and not finished: the DuckDB journal's hint of whether an
// append may have company (stores/duckdb/sync-place.ts). The engine counts them; anything may read the count.

let inFlight = 0;

/** Counts an assembly from its start until `done()` (call it once, in a finally). */
export function assemblyBegun(): () => void {
  inFlight++;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    inFlight--;
  };
}

/** Assemblies begun and not finished (0 when the appends come from elsewhere: replays of files, imports, receipts). */
export function assembliesInFlight(): number {
  return inFlight;
}
