// `fabra context list`: recent records, filtered by function, time, inputs, feature values, freshness, drops and
// replays (the filters run in the ledger's database).
import type { Command } from "commander";
import { recordPageJson } from "../../api/shapes.js";
import { withLedger } from "../../app/project.js";
import { normalizeContextId } from "../../record/id.js";
import { parseFreshnessFilter, parseValueFilter } from "../../api/filters.js";
import { collect, outputFormat, parsePositiveInt, parseTime, print, projectOptions } from "../options.js";
import { dim, table } from "../render/format.js";

interface ListFlags {
  function?: string;
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
  input?: string[];
  feature?: string[];
  status?: string;
  hasDrops?: boolean;
  replaysOf?: string;
  format?: string;
  json?: boolean;
}

const FORMATS = ["table", "json"] as const;

export function registerContextList(context: Command): void {
  context
    .command("list")
    .description("List context records, newest first")
    .option("--function <name>", "only records of this context function")
    .option("--since <time>", "created at or after (ISO-8601, or a duration ago like 1h, 2d)")
    .option("--until <time>", "created before (ISO-8601, or a duration ago)")
    .option("--input <name=value>", "only records whose inputs hold this (repeatable: all must hold)", collect)
    .option(
      "--feature <name=value>",
      "only records that used this feature value, e.g. userTier=enterprise (repeatable)",
      collect,
    )
    .option("--status <status>", "only records with this freshness status: guaranteed | degraded | unknown")
    .option("--has-drops", "only records whose budget dropped items")
    .option("--replays-of <id>", "only replays of this record")
    .option("--limit <n>", "at most n records", "20")
    .option("--cursor <id>", "the page after this record (the next_cursor of the previous page)")
    .option("--format <format>", "table | json: { items, next_cursor }, as GET /v1/contexts")
    .option("--json", "the same as --format json")
    .action(async (flags: ListFlags, cmd: Command) => {
      const format = outputFormat(flags, FORMATS, "table");
      const limit = parsePositiveInt(flags.limit ?? "20", "--limit");
      const filter = {
        contextFunction: flags.function,
        since: flags.since === undefined ? undefined : parseTime(flags.since, "--since"),
        until: flags.until === undefined ? undefined : parseTime(flags.until, "--until"),
        limit,
        cursor: flags.cursor === undefined ? undefined : normalizeContextId(flags.cursor),
        inputs: flags.input?.map((t) => parseValueFilter(t, "--input")),
        features: flags.feature?.map((t) => parseValueFilter(t, "--feature")),
        freshnessStatus: flags.status === undefined ? undefined : parseFreshnessFilter(flags.status, "--status"),
        hasDrops: flags.hasDrops === true ? true : undefined,
        replaysOf: flags.replaysOf === undefined ? undefined : normalizeContextId(flags.replaysOf),
      };
      await withLedger(projectOptions(cmd), async (ledger) => {
        const rows = await ledger.list(filter);
        if (format === "json") {
          return print(JSON.stringify(recordPageJson(rows, limit), null, 2));
        }
        if (rows.length === 0) return print(dim("No context records match."));
        const more = rows.length === limit ? dim(`(more with --cursor ${rows[rows.length - 1]?.contextId})`) : null;
        print(
          table(
            ["context_id", "created_at", "function", "tokens", "record_hash"],
            rows.map((r) => [
              r.contextId,
              r.createdAt,
              r.contextFunction,
              String(r.tokenCount),
              r.recordHash.slice(0, 19) + "…",
            ]),
          ),
        );
        if (more) print(more);
      });
    });
}
