// fabra's own version (stamped into records as lineage.fabra_version) and the user's code version (git SHA).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";

let cachedVersion: string | undefined;

export function fabraVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    cachedVersion = pkg.version;
  }
  return cachedVersion;
}

/**
 * The short git SHA of `dir`, or null outside a git checkout. Run once at start-up, never per request; asynchronous,
 * so start-up does other work while git answers.
 */
export function gitCodeVersion(dir: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile("git", ["rev-parse", "--short=12", "HEAD"], { cwd: dir, timeout: 2000 }, (err, stdout) => {
      const text = err ? "" : String(stdout).trim();
      resolve(/^[0-9a-f]{7,40}$/.test(text) ? text : null);
    });
  });
}
