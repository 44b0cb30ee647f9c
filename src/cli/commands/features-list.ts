// The table of `fabra features list`: each feature's entity, refresh schedule, TTL, whether it is materialized,
// its last materialization run (from the offline store) and when the next one is due.
import type { FeatureDef } from "../../define/feature.js";
import { entityName } from "../../define/feature.js";
import { materializationRunJson } from "../../api/shapes.js";
import { nextDueMs, refreshScheduleOf, type RefreshSchedule } from "../../engine/features/refresh.js";
import type { FabraRuntime } from "../../engine/runtime.js";
import { datetimeToMs, toDatetime } from "../../record/datetime.js";
import type { MaterializationRun } from "../../stores/types.js";
import { print } from "../options.js";
import { dim, formatMs, table } from "../render/format.js";

interface FeatureListing {
  name: string;
  entity: string;
  refresh: string | null;
  ttl: string | null;
  materialize: boolean;
  last_run: MaterializationRun | null;
  /** When the next scheduled refresh is due (a worker or `fabra serve` runs it), null when none is scheduled. */
  next_run: string | null;
  problem: string | null;
}

export async function listFeatures(fabra: FabraRuntime, options: { json: boolean }): Promise<void> {
  const defs = [...fabra.definitions.features].sort(([a], [b]) => a.localeCompare(b));
  const runs = new Map((await fabra.stores.offline.latestRuns(defs.map(([n]) => n))).map((r) => [r.feature, r]));
  const now = Date.now();
  const listing = defs.map(([name, def]) => describe(name, def, runs.get(name) ?? null, now));
  if (options.json)
    return print(
      JSON.stringify(
        listing.map((f) => ({ ...f, last_run: f.last_run && materializationRunJson(f.last_run) })),
        null,
        2,
      ),
    );
  if (listing.length === 0)
    return print(dim("No features are defined; add a module with feature(...) to `definitions` in fabra.config.ts."));
  print(
    table(
      ["name", "entity", "refresh", "ttl", "materialized", "last run", "next run"],
      listing.map((f) => [
        f.name,
        f.entity,
        f.refresh ?? "-",
        f.ttl ?? "-",
        f.materialize ? "yes" : "no",
        lastRun(f.last_run, now),
        nextRun(f, now),
      ]),
    ),
  );
  for (const f of listing) if (f.problem) print(`${dim("note:")} ${f.name}: ${f.problem}`);
}

function describe(name: string, def: FeatureDef, last: MaterializationRun | null, now: number): FeatureListing {
  const materialize = def.options.materialize === true;
  let schedule: RefreshSchedule | null = null;
  let problem: string | null = null;
  try {
    schedule = refreshScheduleOf(def, name);
  } catch (err) {
    problem = (err as Error).message;
  }
  if (schedule && !materialize)
    problem =
      "has refresh but not materialize: true, so nothing refreshes it on a schedule (values are computed on read)";
  const due = schedule && materialize ? nextDueMs(schedule, last, now) : null;
  return {
    name,
    entity: entityName(def),
    refresh: def.options.refresh === undefined ? null : String(def.options.refresh),
    ttl: def.options.ttl === undefined ? null : String(def.options.ttl),
    materialize,
    last_run: last,
    next_run: due === null || !Number.isFinite(due) ? null : toDatetime(due),
    problem,
  };
}

function lastRun(run: MaterializationRun | null, now: number): string {
  if (!run) return "never";
  const when = `${formatMs(now - datetimeToMs(run.startedAt))} ago`;
  const counts = `${run.entitiesWritten} written${run.entitiesFailed > 0 ? `, ${run.entitiesFailed} failed` : ""}`;
  return run.status === "running" ? `running or died, started ${when}` : `${run.status} ${when} (${counts})`;
}

function nextRun(f: FeatureListing, now: number): string {
  if (f.next_run === null) return "-";
  const ms = datetimeToMs(f.next_run) - now;
  return ms <= 1000 ? "due now" : `in ${formatMs(ms)}`;
}
