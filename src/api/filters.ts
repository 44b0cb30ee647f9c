// The record-list filters as text: how `context list` flags and the query string of GET /v1/contexts (and
// /v1/ledger/rows) spell them, parsed the same way by the CLI, the server and the viewer, and written back by the
// remote client. The filtering itself runs in the database (stores/record-filter.ts).
import { FabraError } from "../errors.js";
import { normalizeDatetime } from "../record/datetime.js";
import { normalizeContextId } from "../record/id.js";
import type { RecordFilter, ValueFilter } from "../stores/types.js";
import { isDuration, parseDuration } from "../util/duration.js";

export const FRESHNESS_STATUSES = ["guaranteed", "degraded", "unknown"] as const;
export type FreshnessFilter = (typeof FRESHNESS_STATUSES)[number];

/** A flag and its value as a user would write it: `--feature x=1` on the command line, `feature=x=1` in a query. */
function spelled(flag: string, value: string): string {
  return flag.startsWith("-") ? `${flag} ${value}` : `${flag}=${value}`;
}

/** An ISO-8601 time, or a duration ago (`30m`, `2h`, `7d`), as a normal-form datetime. */
export function parseTimeOrAgo(value: string, flag: string, now: number = Date.now()): string {
  const hint = "Use an ISO-8601 time like 2026-03-01T09:00:00Z or a duration ago like 30m, 2h, 7d.";
  const shown = spelled(flag, JSON.stringify(value));
  if (isDuration(value)) {
    const ago = new Date(now - parseDuration(value, flag));
    if (Number.isNaN(ago.getTime()) || ago.getUTCFullYear() < 1) {
      throw new FabraError("INVALID_ARGUMENT", `${shown} is further back than year 1`, { hint });
    }
    return normalizeDatetime(ago.toISOString());
  }
  try {
    return normalizeDatetime(value, flag);
  } catch {
    throw new FabraError("INVALID_ARGUMENT", `${shown} is not a time`, { hint });
  }
}

/** `name=value` (the first `=` splits; the value may hold more). */
export function parseValueFilter(text: string, flag: string): ValueFilter {
  const eq = text.indexOf("=");
  const example = flag.includes("feature") ? "userTier=enterprise" : "userId=u_1";
  if (eq <= 0)
    throw new FabraError("INVALID_ARGUMENT", `${spelled(flag, JSON.stringify(text))} is not name=value`, {
      hint: `Use e.g. ${spelled(flag, example)}.`,
    });
  return { name: text.slice(0, eq), value: text.slice(eq + 1) };
}

export function parseFreshnessFilter(text: string, flag: string): FreshnessFilter {
  if ((FRESHNESS_STATUSES as readonly string[]).includes(text)) return text as FreshnessFilter;
  throw new FabraError("INVALID_ARGUMENT", `${spelled(flag, JSON.stringify(text))} is not a freshness status`, {
    hint: `Use one of ${FRESHNESS_STATUSES.join(", ")}.`,
  });
}

export function parseBooleanFilter(text: string, flag: string): boolean {
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw new FabraError("INVALID_ARGUMENT", `${spelled(flag, JSON.stringify(text))} is not true or false`, {
    hint: `Use ${flag}=true or ${flag}=false.`,
  });
}

/** The context id of `--replays-of` / `replays_of`, in normal form. */
export function parseReplaysOf(text: string): string {
  return normalizeContextId(text);
}

/** The wire names of the filters (beside function, since, until, order, limit, cursor). */
export const FILTER_PARAMS = {
  input: "input",
  feature: "feature",
  status: "status",
  hasDrops: "has_drops",
  replaysOf: "replays_of",
} as const;

/** A record filter as a query string (repeated `input=` / `feature=` for several). */
export function recordFilterQuery(filter: RecordFilter): URLSearchParams {
  const params = new URLSearchParams();
  if (filter.contextFunction !== undefined) params.set("function", filter.contextFunction);
  if (filter.since !== undefined) params.set("since", filter.since);
  if (filter.until !== undefined) params.set("until", filter.until);
  for (const f of filter.inputs ?? []) params.append(FILTER_PARAMS.input, `${f.name}=${f.value}`);
  for (const f of filter.features ?? []) params.append(FILTER_PARAMS.feature, `${f.name}=${f.value}`);
  if (filter.freshnessStatus !== undefined) params.set(FILTER_PARAMS.status, filter.freshnessStatus);
  if (filter.hasDrops !== undefined) params.set(FILTER_PARAMS.hasDrops, String(filter.hasDrops));
  if (filter.replaysOf !== undefined) params.set(FILTER_PARAMS.replaysOf, filter.replaysOf);
  if (filter.order !== undefined) params.set("order", filter.order);
  if (filter.limit !== undefined) params.set("limit", String(filter.limit));
  if (filter.cursor !== undefined) params.set("cursor", filter.cursor);
  return params;
}
