// Durations in config and definitions: `500ms`, `30s`, `5m`, `1h`, `1d`, `1w` (case-insensitive), or milliseconds.
// Hand-written on purpose: ms and friends accept more ("1.5 hours", years) and give no error naming the option.
import { FabraError } from "../errors.js";

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** True when `value` reads as a duration (as opposed to, say, a cron expression). */
export function isDuration(value: string | number): boolean {
  return typeof value === "number" ? Number.isFinite(value) && value >= 0 : DURATION.test(value);
}

/** Milliseconds in a duration; `where` names the setting in the error. */
export function parseDuration(value: string | number, where: string): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  } else {
    const m = DURATION.exec(value);
    if (m) return Math.round(Number(m[1]) * (UNIT_MS[(m[2] as string).toLowerCase()] as number));
  }
  throw new FabraError("INVALID_DEFINITION", `${where} is ${JSON.stringify(value)}, which is not a duration`, {
    hint: "Use a number of milliseconds or a string like 500ms, 30s, 5m, 1h, 1d.",
  });
}
