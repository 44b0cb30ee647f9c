// CLI entry: runs the commander program, maps every error to one clear message and an exit code.
// The only place in fabra that calls process.exit (runCli is the same without it, for in-process runs in tests).
import { CommanderError } from "commander";
import chalk from "chalk";
import { exitCodeFor, isFabraError } from "../errors.js";
import { noColorRequested } from "../config/env.js";
import { helpAsFlag } from "./lazy-commands.js";
import { buildProgram } from "./program.js";

export async function main(given: string[]): Promise<void> {
  const code = await runCli(given);
  // Let stdout/stderr drain before leaving (large JSON output piped to another process).
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  process.exit(code);
}

/** Runs one command line (`[node, script, ...args]`) and returns its exit code; errors are reported on stderr. */
export async function runCli(given: string[]): Promise<number> {
  if (noColorRequested()) chalk.level = 0;
  const argv = [...given.slice(0, 2), ...helpAsFlag(given.slice(2), ["-c", "--config"])];
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    return reportError(err);
  }
}

async function reportError(err: unknown): Promise<number> {
  if (err instanceof CommanderError) {
    // commander already printed its message (unknown option, missing argument...); --help/--version exit 0.
    return err.exitCode === 0 ? 0 : 2;
  }
  // The config module (and zod with it) loads only on this path: `fabra --version` must not pay for it.
  const { debugEnabled } = await import("../config/resolve.js");
  if (isFabraError(err)) {
    process.stderr.write(`${chalk.red("✗")} ${err.message}\n`);
    if (err.hint) process.stderr.write(`  ${chalk.dim("hint:")} ${err.hint}\n`);
    if (debugEnabled() && err.cause instanceof Error) process.stderr.write(`${err.cause.stack ?? ""}\n`);
    return exitCodeFor(err);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${chalk.red("✗")} Internal error: ${message}\n`);
  if (debugEnabled() && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
  else
    process.stderr.write(
      `  ${chalk.dim("hint:")} this is a bug in fabra; re-run with FABRA_DEBUG=1 for the stack trace and report it.\n`,
    );
  return exitCodeFor(err);
}
