// A bulk load on a DuckDB file (`index add`): while one runs, no commit checkpoints. DuckDB's checkpoint_threshold
// (16 MiB by default) makes a commit that finds the WAL past it checkpoint the tables and their key indexes (~0.1 s
// for 10k chunks), and in `index add` that tends to be the last commit, which nothing else overlaps. Raised for the
// load, the rows are checkpointed once: when the file is closed (as one transaction of the same rows would be) or by
// the first commit after the load.
import type { DuckDatabase } from "./database.js";

/** The threshold while a bulk load runs (a setting of the whole instance). */
const BULK_CHECKPOINT_THRESHOLD = "1GiB";

interface FileLoads {
  loads: number;
  /** The setting changes in call order; each step resolves to the threshold the file had before any load. */
  settings: Promise<string | null>;
}

/** Per open file (DuckDatabase.file): the loads running on it. */
const files = new WeakMap<object, FileLoads>();

/** Starts a bulk load on the file `db` belongs to; the function returned ends it (the last one puts the threshold back). */
export async function beginBulkLoad(db: DuckDatabase): Promise<() => Promise<void>> {
  let file = files.get(db.file);
  if (!file) {
    const settings = db
      .query<{ threshold: string }>("SELECT current_setting('checkpoint_threshold') AS threshold")
      .then(([row]) => row?.threshold ?? null)
      .catch(() => null);
    file = { loads: 0, settings };
    files.set(db.file, file);
  }
  const loads = file;
  if (loads.loads++ === 0)
    try {
      await change(db, loads, () => BULK_CHECKPOINT_THRESHOLD);
    } catch (err) {
      loads.loads--;
      throw err;
    }
  let ended = false;
  return async () => {
    if (ended) return;
    ended = true;
    if (--loads.loads === 0) await change(db, loads, (before) => before);
  };
}

/** Sets the threshold to `to(the file's own)` after the changes before it; null leaves it as it is. */
async function change(db: DuckDatabase, loads: FileLoads, to: (before: string | null) => string | null): Promise<void> {
  let failed: unknown = null;
  loads.settings = loads.settings.then(async (before) => {
    const value = to(before);
    try {
      if (value !== null) await db.run(`SET checkpoint_threshold = '${value.replaceAll("'", "''")}'`);
    } catch (err) {
      failed = err;
    }
    return before;
  });
  await loads.settings;
  if (failed !== null) throw failed;
}
