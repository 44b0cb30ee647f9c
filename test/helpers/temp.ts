// Temporary directories and files for tests: a fresh directory under the OS temp dir per call, and files written
// into it by relative path.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A new, empty directory whose name starts with `prefix`. */
export function tempDir(prefix = "fabra-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The path of `name` inside a new temporary directory (the file itself is not created). */
export function tempFile(prefix: string, name: string): string {
  return join(tempDir(prefix), name);
}

/** Writes each `relative path → content` under `dir` (creating folders), and returns `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}
