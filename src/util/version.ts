// fabra's own version (stamped into records as lineage.fabra_version) and the user's code version (git SHA).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let cachedVersion: string | undefined;

export function fabraVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    cachedVersion = pkg.version;
  }
  return cachedVersion;
}

/** The short git SHA of `dir`, or null outside a git checkout. Run once at start-up, never per request. */
export function gitCodeVersion(dir: string): string | null {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 2000,
    });
    const text = sha.toString().trim();
    return /^[0-9a-f]{7,40}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}
