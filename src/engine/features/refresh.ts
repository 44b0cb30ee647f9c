// A feature's `refresh`: a duration ("1h", ms) or a cron expression (croner), and when its next run is due given
// its last run. Shared by the scheduler and `fabra features list`, so both say the same thing.
import { Cron } from "croner";
import type { FeatureDef } from "../../define/feature.js";
import { FabraError } from "../../errors.js";
import { datetimeToMs } from "../../record/datetime.js";
import type { MaterializationRun } from "../../stores/types.js";
import { isDuration, parseDuration } from "../../util/duration.js";

export type RefreshSchedule =
  | { kind: "interval"; text: string; ms: number }
  | { kind: "cron"; text: string; cron: Cron };

/** The feature's refresh schedule, or null when it has none. Invalid values are INVALID_DEFINITION errors. */
export function refreshScheduleOf(def: FeatureDef, name: string): RefreshSchedule | null {
  const refresh = def.options.refresh;
  if (refresh === undefined) return null;
  const text = String(refresh);
  if (isDuration(refresh)) {
    const ms = parseDuration(refresh, `refresh of feature ${name}`);
    if (ms <= 0)
      throw new FabraError(
        "INVALID_DEFINITION",
        `refresh of feature ${name} is ${JSON.stringify(refresh)}; it must be longer than 0`,
        { hint: 'Use e.g. refresh: "5m".' },
      );
    return { kind: "interval", text, ms };
  }
  try {
    return { kind: "cron", text, cron: new Cron(text, { paused: true }) };
  } catch (err) {
    throw new FabraError(
      "INVALID_DEFINITION",
      `refresh of feature ${name} is ${JSON.stringify(refresh)}: neither a duration nor a cron expression (${(err as Error).message})`,
      {
        hint: 'Use a duration ("30s", "5m", "1h", or ms) or a cron expression ("*/15 * * * *"; 6 fields for seconds).',
      },
    );
  }
}

const isUnfinished = (run: MaterializationRun | null) =>
  run !== null && (run.status === "running" || run.status === "interrupted");

/**
 * When the next run is due (epoch ms). An unfinished last run (crashed or interrupted) is due now: whoever holds
 * the lock resumes it. Intervals count from the last run's start (a first run is due at once); cron runs at its slots.
 */
export function nextDueMs(schedule: RefreshSchedule, last: MaterializationRun | null, now: number): number {
  if (isUnfinished(last)) return now;
  if (schedule.kind === "interval") return last ? Math.max(now, datetimeToMs(last.startedAt) + schedule.ms) : now;
  return schedule.cron.nextRun(new Date(now))?.getTime() ?? Number.POSITIVE_INFINITY;
}

/**
 * Whether a run should start now (the caller holds the lock and has just read `last` from the store, so a run made
 * by another worker in the meantime is seen). For cron, `slot` is the time the firing was scheduled for: a run that
 * started in the second half of the gap before the slot already served it.
 */
export function isDue(
  schedule: RefreshSchedule,
  last: MaterializationRun | null,
  now: number,
  slot: number | null,
): boolean {
  if (isUnfinished(last)) return true;
  if (schedule.kind === "interval") return !last || now >= datetimeToMs(last.startedAt) + schedule.ms;
  if (slot === null) return false;
  if (!last) return true;
  const previous = schedule.cron.previousRuns(1, new Date(slot))[0]?.getTime();
  const threshold = previous === undefined ? slot : slot - (slot - previous) / 2;
  return datetimeToMs(last.startedAt) < threshold;
}
