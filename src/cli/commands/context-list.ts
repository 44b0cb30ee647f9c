// `fabra context list`: recent records, filtered by function and time.
import type { Command } from "commander";
import { recordSummaryJson } from "../../engine/json-shapes.js";
import { withRecordStore } from "../../project.js";
import { normalizeDatetime } from "../../record/datetime.js";
import { FabraError } from "../../errors.js";
import { parseFormat, parsePositiveInt, print, projectOptions } from "../options.js";
import { dim, table } from "../render/format.js";

interface ListFlags {
  function?: string;
  since?: string;
  until?: string;
  limit?: string;
  format?: string;
}

export function registerContextList(context: Command): void {
  context
    .command("list")
    .description("List context records, newest first")
    .option("--function <name>", "only records of this context function")
    .option("--since <time>", "created at or after (ISO-8601, or a duration ago like 1h, 2d)")
    .option("--until <time>", "created before (ISO-8601, or a duration ago)")
    .option("--limit <n>", "at most n records", "20")
    .option("--format <format>", "table | json", "table")
    .action(async (flags: ListFlags, cmd: Command) => {
      const format = parseFormat(flags.format, ["table", "json"] as const, "table");
      const filter = {
        contextFunction: flags.function,
        since: flags.since === undefined ? undefined : parseTime(flags.since, "--since"),
        until: flags.until === undefined ? undefined : parseTime(flags.until, "--until"),
        limit: parsePositiveInt(flags.limit ?? "20", "--limit"),
      };
      await withRecordStore(projectOptions(cmd), async (records) => {
        const rows = await records.list(filter);
        if (format === "json") {
          return print(JSON.stringify(rows.map(recordSummaryJson), null, 2));
        }
        if (rows.length === 0) return print(dim("No context records match."));
        print(
          table(
            ["context_id", "created_at", "function", "tokens", "record_hash"],
            rows.map((r) => [r.contextId, r.createdAt, r.contextFunction, String(r.tokenCount), r.recordHash.slice(0, 19) + "…"]),
          ),
        );
      });
    });
}

const AGO = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/i;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** An ISO-8601 time, or a duration ago (`1h` = one hour ago), as a normal-form datetime. */
export function parseTime(value: string, flag: string): string {
  const ago = AGO.exec(value.trim());
  if (ago) return normalizeDatetime(new Date(Date.now() - Number(ago[1]) * (UNIT_MS[(ago[2] as string).toLowerCase()] as number)).toISOString());
  try {
    return normalizeDatetime(value, flag);
  } catch {
    throw new FabraError("INVALID_ARGUMENT", `${flag} ${JSON.stringify(value)} is not a time`, {
      hint: `Use an ISO-8601 time like 2026-03-01T09:00:00Z or a duration ago like 30m, 2h, 7d.`,
    });
  }
}
