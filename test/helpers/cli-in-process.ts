// Running the built CLI inside the test process: the same `dist/cli/main.js` as `bin/fabra.js` (its `runCli`, which
// is `main` without the process.exit), with the run's environment, cwd and captured stdout/stderr swapped in for its
// duration. It saves the ~0.5 s of CPU a child process spends loading modules, for tests about what a command does
// (output, exit code, files written); tests about the process itself (signals, exit, TTY, what gets loaded) spawn.
// Runs are serialized: they share process.env, the cwd and the standard streams.
import { createRequire } from "node:module";
import { join, sep } from "node:path";
import { pathToFileURL } from "node:url";

export interface InProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Never set: an in-process run is not killed (present so results read like execa's). */
  signal?: undefined;
  failed: boolean;
  command: string;
}

type RunCli = (argv: string[]) => Promise<number>;

const DIST = join(import.meta.dirname, "..", "..", "dist");
const MAIN = join(DIST, "cli", "main.js");
const CONFIG = join(DIST, "config", "resolve.js");
// A native import, not vitest's module runner: the CLI runs as node runs it (and loads the user's modules the same
// way, through jiti).
const nativeImport = createRequire(import.meta.url)("./native-import.cjs") as (
  url: string,
) => Promise<{ runCli: RunCli }>;
let loaded: Promise<RunCli> | null = null;
let queue: Promise<unknown> = Promise.resolve();

/**
 * The CLI's entry, loaded with HOME pointing under a file: a module that reads HOME once at load (the default
 * ledger path, ~/.fabra/fabra.duckdb) would keep the first sandbox's home for every later run, so it gets a path no
 * run can use instead, and a test that depends on the default ledger fails loudly (such a test must spawn).
 */
async function load(): Promise<RunCli> {
  const home = process.env.HOME;
  process.env.HOME = "/dev/null/in-process-fabra-has-no-home";
  try {
    await nativeImport(pathToFileURL(CONFIG).href);
    return (await nativeImport(pathToFileURL(MAIN).href)).runCli;
  } finally {
    if (home === undefined) delete process.env.HOME;
    else process.env.HOME = home;
  }
}

/** `fabra <args>` in this process with exactly `env` as the environment and `cwd` as the working directory. */
export function runInProcess(
  args: readonly string[],
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<InProcessResult> {
  loaded ??= load();
  const run = queue.then(async () => runAlone(await (loaded as Promise<RunCli>), args, cwd, env));
  queue = run.catch(() => undefined);
  return run;
}

async function runAlone(
  runCli: RunCli,
  args: readonly string[],
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<InProcessResult> {
  const out: string[] = [];
  const err: string[] = [];
  const restore = swapProcess(cwd, env, out, err);
  let exitCode: number;
  try {
    exitCode = await runCli([process.execPath, "fabra", ...args]);
  } finally {
    restore();
    forgetUserModules(cwd);
  }
  const stdout = stripFinalNewline(out.join(""));
  const stderr = stripFinalNewline(err.join(""));
  return { exitCode, stdout, stderr, failed: exitCode !== 0, command: `fabra ${args.join(" ")}` };
}

/** Puts the run's env, cwd and capturing stdout/stderr (not terminals, like a pipe) in place; returns the undo. */
function swapProcess(cwd: string, env: Record<string, string | undefined>, out: string[], err: string[]): () => void {
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  const savedExitCode = process.exitCode;
  for (const key of Object.keys(process.env)) delete process.env[key];
  for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
  process.chdir(cwd);
  process.exitCode = undefined;
  const undoOut = capture(process.stdout, out);
  const undoErr = capture(process.stderr, err);
  return () => {
    undoOut();
    undoErr();
    process.exitCode = savedExitCode;
    process.chdir(savedCwd);
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  };
}

function capture(stream: NodeJS.WriteStream, into: string[]): () => void {
  const own = Object.getOwnPropertyDescriptors(stream);
  const write = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") process.nextTick(done as () => void);
    return true;
  };
  Object.defineProperty(stream, "write", { value: write, configurable: true, writable: true });
  Object.defineProperty(stream, "isTTY", { value: false, configurable: true, writable: true });
  return () => {
    for (const key of ["write", "isTTY"] as const) {
      const descriptor = own[key];
      if (descriptor) Object.defineProperty(stream, key, descriptor);
      else delete (stream as unknown as Record<string, unknown>)[key];
    }
  };
}

/** A child process loads the user's config and definitions afresh: drop what jiti cached from under `dir`. */
function forgetUserModules(dir: string): void {
  const cache = createRequire(import.meta.url).cache;
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  for (const id of Object.keys(cache)) if (id.startsWith(prefix)) delete cache[id];
}

/** As execa does by default. */
function stripFinalNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}
