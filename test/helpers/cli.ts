// Running the built CLI in tests: where `bin/fabra.js` is, `fabra(args)` through execa (never rejecting, the
// developer's FABRA_* settings kept out), sandboxes (a temp dir as HOME and cwd) and projects (a sandbox holding a
// config and definitions), and the check that a failure is one clean line for a user.
import { join, resolve } from "node:path";
import { execa, type Options, type ResultPromise } from "execa";
import { expect } from "vitest";
import { type InProcessResult, runInProcess } from "./cli-in-process.js";
import { tempDir, writeFiles } from "./temp.js";

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const BIN = join(ROOT, "bin", "fabra.js");
export const FIXTURES = join(ROOT, "test", "fixtures");
/** The CRS-001 spec vectors. */
export const VECTORS = join(FIXTURES, "crs-001");

export type Env = Record<string, string | undefined>;

/** This process's environment without FABRA_* settings (the test services' FABRA_TEST_* URLs stay). */
function inheritedEnv(): Env {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("FABRA_") || k.startsWith("FABRA_TEST_")),
  );
}

export type CliOptions = Omit<Options, "env" | "extendEnv" | "reject"> & { cwd: string; env?: Env };
/** A running `fabra` process; awaiting it gives the result (exitCode, stdout, stderr as text), never a rejection. */
export type CliRun = ResultPromise<{ reject: false }>;

/** Runs `fabra <args>` on the built CLI, with this process's environment minus FABRA_* plus `options.env`. */
export function fabra(args: readonly string[], options: CliOptions): CliRun {
  const env = { ...inheritedEnv(), ...options.env };
  return execa(process.execPath, [BIN, ...args], {
    ...options,
    reject: false,
    env,
    extendEnv: false,
  }) as unknown as CliRun;
}

export interface Sandbox {
  /** The temp directory: HOME and the default cwd. */
  dir: string;
  /** The environment each run gets (HOME, NO_COLOR and what the sandbox was made with). */
  env: Env;
  /** `fabra <args>` in the sandbox as a child process; `opts.env` is added to the sandbox's. */
  run(args: readonly string[], opts?: RunOptions): CliRun;
}

/** A sandbox whose `run` is in-process (helpers/cli-in-process.ts); `spawn` is a child process, as `Sandbox.run`. */
export interface InProcessSandbox extends Omit<Sandbox, "run"> {
  /** `fabra <args>` in the sandbox, inside this process (commands that keep running, as serve, must `spawn`). */
  run(args: readonly string[], opts?: { cwd?: string; env?: Env }): Promise<InProcessResult>;
  spawn(args: readonly string[], opts?: RunOptions): CliRun;
}

type RunOptions = Omit<CliOptions, "cwd"> & { cwd?: string };

/** What a sandbox adds to the environment: values, or values made from the sandbox's directory. */
export type SandboxEnv = Env | ((dir: string) => Env);

/** `inProcess`: the sandbox's `run` is in this process, for tests about what a command does, not the process. */
export interface SandboxOptions {
  inProcess?: boolean;
}

/** Commands that run until stopped: never in-process. */
const LONG_RUNNING = new Set(["serve", "worker", "ui"]);

/**
 * A new temp directory to run the CLI in: it is HOME and the cwd, colour is off, and `env` is added. (The plain
 * overload is last, as `ReturnType<typeof sandbox>` reads the last one; the same for `project`.)
 */
export function sandbox(prefix: string, env: SandboxEnv, options: { inProcess: true }): InProcessSandbox;
export function sandbox(prefix?: string, env?: SandboxEnv): Sandbox;
export function sandbox(prefix = "fabra-e2e-", env: SandboxEnv = {}, options: SandboxOptions = {}) {
  const dir = tempDir(prefix);
  const base: Env = { HOME: dir, NO_COLOR: "1", ...(typeof env === "function" ? env(dir) : env) };
  const spawn = (args: readonly string[], opts: RunOptions = {}) =>
    fabra(args, { ...opts, cwd: opts.cwd ?? dir, env: { ...base, ...opts.env } });
  if (!options.inProcess) return { dir, env: base, run: spawn };
  const run = (args: readonly string[], opts: { cwd?: string; env?: Env } = {}) => {
    if (LONG_RUNNING.has(args[0] ?? "")) throw new Error(`fabra ${args[0]} runs until stopped: spawn it`);
    return runInProcess(args, opts.cwd ?? dir, { ...inheritedEnv(), ...base, ...opts.env });
  };
  return { dir, env: base, run, spawn };
}

/** A sandbox holding a project: `files` (relative path → content, e.g. fabra.config.ts and defs.ts) written into it. */
export function project(
  prefix: string,
  files: Record<string, string>,
  env: SandboxEnv,
  options: { inProcess: true },
): InProcessSandbox;
export function project(prefix: string, files: Record<string, string>, env?: SandboxEnv): Sandbox;
export function project(
  prefix: string,
  files: Record<string, string>,
  env: SandboxEnv = {},
  options: SandboxOptions = {},
) {
  const box = options.inProcess ? sandbox(prefix, env, { inProcess: true }) : sandbox(prefix, env);
  writeFiles(box.dir, files);
  return box;
}

/** A failure a user can read: exit code `code`, `pattern` on stderr, exactly one "✗" line and no stack trace. */
export function expectCleanError(result: { stderr: unknown; exitCode?: number }, code: number, pattern: RegExp): void {
  const stderr = String(result.stderr);
  expect(result.exitCode, stderr).toBe(code);
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(stderr.split("\n").filter((l) => l.startsWith("✗"))).toHaveLength(1);
}
