// The state file `fabra serve` writes beside an embedded DuckDB file it holds (`<file>.server.json`, mode 0600):
// pid, url and a per-run token, so `fabra context ...` in another terminal can go through the server instead of
// failing on the file lock. Removed on shutdown; a file left by a dead process is recognised by its pid and ignored.
import { randomBytes } from "node:crypto";
import { chmod, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface ServerState {
  pid: number;
  url: string;
  token: string;
  started_at: string;
  version: string;
}

export function stateFilePath(duckdbPath: string): string {
  return `${duckdbPath}.server.json`;
}

export async function writeStateFile(path: string, state: ServerState): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600); // whatever the umask
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The state of a server that is still running, or null (no file, unreadable, or its process is gone). */
export async function readLiveState(path: string): Promise<ServerState | null> {
  let state: ServerState;
  try {
    state = JSON.parse(await readFile(path, "utf8")) as ServerState;
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(state.pid) || typeof state.url !== "string" || typeof state.token !== "string") return null;
  return isAlive(state.pid) ? state : null;
}

/** Removes the state file if it is still this run's (another server may have replaced it). */
export async function removeStateFile(path: string, token: string): Promise<void> {
  try {
    const state = JSON.parse(await readFile(path, "utf8")) as ServerState;
    if (state.token === token) await rm(path, { force: true });
  } catch {
    // already gone, or not ours to remove
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, but another user's
  }
}
