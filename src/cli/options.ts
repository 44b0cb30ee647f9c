// Shared CLI option handling: the global --config, output formats (--format, with --json as its alias), numbers,
// durations, times and repeatable flags.
import chalk from "chalk";
import type { Command } from "commander";
import { isDuration, parseDuration } from "../util/duration.js";
import { FabraError } from "../errors.js";
import type { ProjectOptions } from "../app/project.js";
import { remoteServerSetting } from "../config/env.js";
import { parseTimeOrAgo } from "../api/filters.js";

/** Project options from the global flags of the program a command belongs to. */
export function projectOptions(cmd: Command): ProjectOptions {
  const flags = cmd.optsWithGlobals<{ config?: string; url?: string }>();
  const remote = remoteServerSetting(flags.url);
  return {
    cwd: process.cwd(),
    configPath: flags.config,
    remote: remote && {
      ...remote,
      onUse: (url) =>
        process.stderr.write(
          `${chalk.cyan(`Records from the fabra server at ${url}`)} (verified here on the bytes received, not on the server's word)\n`,
        ),
    },
    onWarning: (w) => process.stderr.write(`${chalk.yellow.bold(`warning: ${w.message}`)}\n  ${w.fix}\n`),
    notice: (message) => process.stderr.write(`note: ${message}\n`),
  };
}

export function parseFormat<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new FabraError("INVALID_ARGUMENT", `--format ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`, {
    hint: `Use --format ${allowed.join(" or --format ")}.`,
  });
}

/** The output format from `--format` and its alias `--json` (given together, they must agree). */
export function outputFormat<T extends string>(
  flags: { format?: string; json?: boolean },
  allowed: readonly T[],
  fallback: T,
): T {
  const format = parseFormat(flags.format, allowed, fallback);
  if (flags.json === true) {
    if (flags.format !== undefined && flags.format !== "json") {
      throw new FabraError("INVALID_ARGUMENT", `--json and --format ${flags.format} contradict each other`, {
        hint: "Give one of them.",
      });
    }
    return "json" as T;
  }
  return format;
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new FabraError("INVALID_ARGUMENT", `${flag} ${JSON.stringify(value)} is not a positive whole number`, {
      hint: `Use e.g. ${flag} 20.`,
    });
  }
  return n;
}

/** A duration flag (`500ms`, `30s`, `5m`, or plain milliseconds) in milliseconds, at least `minMs`. */
export function parseDurationFlag(value: string, flag: string, minMs = 1): number {
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) : isDuration(text) ? parseDuration(text, flag) : NaN;
  if (!Number.isSafeInteger(ms) || ms < minMs) {
    throw new FabraError(
      "INVALID_ARGUMENT",
      `${flag} ${JSON.stringify(value)} is not a duration${Number.isNaN(ms) ? "" : ` of at least ${minMs}ms`}`,
      {
        hint: `Use e.g. ${flag} 10s (units: ms, s, m, h, d; a plain number is milliseconds).`,
      },
    );
  }
  return ms;
}

/** An ISO-8601 time, or a duration ago (`1h` = one hour ago), as a normal-form datetime. */
export function parseTime(value: string, flag: string): string {
  return parseTimeOrAgo(value, flag);
}

/** Commander's argument parser for a repeatable flag: every value, in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Writes text to stdout, ending with one newline. */
export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}

/** `--claim-idle` and `--max-attempts`: how a consumer of ingested events retries (`fabra serve`, `fabra worker`). */
export function withIngestRetryFlags(command: Command): Command {
  return command
    .option(
      "--claim-idle <duration>",
      "an ingested event pending this long (dead or failed consumer) is retried",
      "30s",
    )
    .option("--max-attempts <n>", "deliveries after which a failing ingested event is dead-lettered", "5");
}

/** The ingest consumer's retry settings from withIngestRetryFlags' flags. */
export function ingestRetryOptions(flags: { claimIdle?: string; maxAttempts?: string }): {
  claimIdleMs: number;
  maxAttempts: number;
} {
  return {
    claimIdleMs: parseDurationFlag(flags.claimIdle ?? "30s", "--claim-idle", 0),
    maxAttempts: parsePositiveInt(flags.maxAttempts ?? "5", "--max-attempts"),
  };
}
