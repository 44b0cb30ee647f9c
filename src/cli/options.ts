// Shared CLI option handling: the global --config, output formats, numbers.
import type { Command } from "commander";
import { FabraError } from "../errors.js";
import type { ProjectOptions } from "../project.js";

/** Project options from the global flags of the program a command belongs to. */
export function projectOptions(cmd: Command): ProjectOptions {
  const globals = cmd.optsWithGlobals<{ config?: string }>();
  return { cwd: process.cwd(), configPath: globals.config };
}

export function parseFormat<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new FabraError("INVALID_ARGUMENT", `--format ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`, {
    hint: `Use --format ${allowed.join(" or --format ")}.`,
  });
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new FabraError("INVALID_ARGUMENT", `${flag} ${JSON.stringify(value)} is not a positive whole number`, { hint: `Use e.g. ${flag} 20.` });
  }
  return n;
}

/** Writes text to stdout, ending with one newline. */
export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}
