// The refresh scheduler run by `fabra serve` and `fabra worker`: every feature with `refresh`, `materialize: true`
// and `entities` is materialized when due. No leader: each process arms timers for every job; when one fires it takes the
// feature's refresh lock (LockStore, extended while the run goes on), re-reads the last run from the offline store
// and runs only if still due — so a refresh is never started twice, in one process or across many (Redis locks).
// Due jobs are taken in random order and timers get a random jitter, so workers spread the work.
import type { FeatureDef } from "../../define/feature.js";
import { FabraError } from "../../errors.js";
import { toDatetime } from "../../record/datetime.js";
import type { LockStore, MaterializationRun } from "../../stores/types.js";
import { DEFAULT_LOCK_TTL_MS, refreshLockKey, withLock } from "./locks.js";
import { unknownFeature } from "./read.js";
import { runFeature, type FeatureRunResult, type MaterializeRuntime } from "./materialize.js";
import { isDue, nextDueMs, refreshScheduleOf, type RefreshSchedule } from "./refresh.js";

export interface SchedulerOptions {
  /** Lock store (default: the runtime's). Redis locks make the exclusion hold across processes and machines. */
  locks?: LockStore;
  /** Only these features (default: every feature with refresh and materialize: true). */
  features?: string[];
  /** Refresh lock TTL (default 30s); extended every ttl/3 while a run goes on. A dead worker's lock frees after it. */
  lockTtlMs?: number;
  /** Entities computed at once within a run (default 8). */
  concurrency?: number;
  /** Runs at once in this process (default 1). */
  maxConcurrentRuns?: number;
  /** Upper bound of the random delay added to each timer (default: 5% of the interval, at most 1s). */
  jitterMs?: number;
  /** Called for every scheduling event (runs started and finished, skips, errors). */
  onEvent?: (event: SchedulerEvent) => void;
  /** Randomness source (tests). */
  random?: () => number;
}

export type SchedulerEvent =
  | { type: "scheduled"; feature: string; at: string }
  | { type: "started"; feature: string; runId: string; resumed: boolean }
  | { type: "finished"; feature: string; result: FeatureRunResult }
  | { type: "skipped"; feature: string; reason: "locked" | "not-due" }
  | { type: "error"; feature: string; error: string };

export interface JobStatus {
  feature: string;
  refresh: string;
  running: boolean;
  /** When the next attempt is armed (normal form), or null while running / after stop. */
  nextRunAt: string | null;
  lastRun: MaterializationRun | null;
  lastResult: FeatureRunResult | null;
}

export interface Scheduler {
  /** Stops arming timers, tells running runs to stop after their current batch, and waits for them. */
  stop(): Promise<void>;
  status(): JobStatus[];
}

interface Job {
  feature: string;
  schedule: RefreshSchedule;
  running: boolean;
  queued: boolean;
  timer: NodeJS.Timeout | null;
  nextAt: number | null;
  /** The cron slot the armed timer is for. */
  slot: number | null;
  lastRun: MaterializationRun | null;
  lastResult: FeatureRunResult | null;
  failures: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_BACKOFF_MS = 5 * 60_000;

/** Why a feature cannot be refreshed on a schedule, or null when it can (refresh, materialize: true and entities). */
export function unschedulableReason(def: FeatureDef): string | null {
  if (def.options.refresh === undefined) return "has no refresh schedule";
  if (def.options.materialize !== true) return "is not materialized (materialize: true)";
  if (def.options.entities === undefined) return "declares no entities to refresh";
  return null;
}

/**
 * The features a scheduler runs: every feature with refresh, materialize: true and entities, or the named ones
 * (unknown names and features that cannot be refreshed on a schedule are refused, saying why).
 */
export function scheduledFeatures(
  features: Map<string, FeatureDef>,
  only?: string[],
): { feature: string; schedule: RefreshSchedule }[] {
  const names = only ?? [...features].filter(([, d]) => unschedulableReason(d) === null).map(([n]) => n);
  return names.map((feature) => {
    const def = features.get(feature);
    if (!def) throw unknownFeature(feature, features.keys());
    const reason = unschedulableReason(def);
    const schedule = reason === null ? refreshScheduleOf(def, feature) : null;
    if (!schedule) {
      const schedulable = [...features].filter(([, d]) => unschedulableReason(d) === null).map(([n]) => n);
      throw new FabraError(
        "INVALID_ARGUMENT",
        `Feature ${feature} ${reason ?? "has no refresh schedule"}, so it cannot be refreshed on a schedule`,
        {
          hint: `Give it refresh: "1h" (or a cron expression), materialize: true and entities. ${schedulable.length > 0 ? `Features refreshed on a schedule: ${schedulable.join(", ")}.` : "No feature is refreshed on a schedule yet."}`,
        },
      );
    }
    return { feature, schedule };
  });
}

/** Starts refreshing features on their schedules. Throws (INVALID_DEFINITION) at once on a bad refresh value. */
export function startScheduler(runtime: MaterializeRuntime, options: SchedulerOptions = {}): Scheduler {
  const locks = options.locks ?? runtime.stores.locks;
  const random = options.random ?? Math.random;
  const lockTtlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  const maxRuns = Math.max(1, options.maxConcurrentRuns ?? 1);
  const emit = (e: SchedulerEvent) => {
    try {
      options.onEvent?.(e);
    } catch (err) {
      runtime.settings.warn(`scheduler event handler failed: ${(err as Error).message}`);
    }
  };
  for (const [name, def] of runtime.definitions.features) {
    if (def.options.refresh !== undefined && def.options.materialize === true && def.options.entities === undefined) {
      runtime.settings.warn(
        `feature ${name} has refresh and materialize: true but no entities, so no scheduler refreshes it`,
      );
    }
  }
  const jobs: Job[] = scheduledFeatures(runtime.definitions.features, options.features).map(
    ({ feature, schedule }) => ({
      feature,
      schedule,
      running: false,
      queued: false,
      timer: null,
      nextAt: null,
      slot: null,
      lastRun: null,
      lastResult: null,
      failures: 0,
    }),
  );
  const stopController = new AbortController();
  const queue: Job[] = [];
  const active = new Set<Promise<void>>();
  let stopped = false;

  const jitterFor = (job: Job) => {
    const max =
      options.jitterMs ?? Math.min(1000, (job.schedule.kind === "interval" ? job.schedule.ms : 60_000) * 0.05);
    return Math.floor(random() * max);
  };

  const arm = (job: Job, at: number, slot: number | null) => {
    if (stopped) return;
    if (job.timer) clearTimeout(job.timer);
    const fireAt = at + jitterFor(job);
    job.nextAt = fireAt;
    job.slot = slot;
    emit({ type: "scheduled", feature: job.feature, at: toDatetime(fireAt) });
    const delay = Math.max(0, fireAt - Date.now());
    // Long delays are re-armed in steps (setTimeout holds at most ~24.8 days).
    job.timer = setTimeout(
      () => (delay > MAX_TIMER_MS ? arm(job, at, slot) : enqueue(job)),
      Math.min(delay, MAX_TIMER_MS),
    );
  };

  /** Arms the job's next attempt from its last run (read from the store, so other workers' runs count). */
  const plan = async (job: Job, retryAt?: number) => {
    try {
      job.lastRun = (await runtime.stores.offline.latestRuns([job.feature]))[0] ?? null;
    } catch (err) {
      emit({ type: "error", feature: job.feature, error: `could not read its last run: ${(err as Error).message}` });
      return arm(job, Date.now() + backoff(job), null);
    }
    const now = Date.now();
    const due = nextDueMs(job.schedule, job.lastRun, now);
    // A retry waits out its backoff even when the run is due now (an unfinished run is always due): a failure that
    // persists is retried at 1 s, 2 s, 4 s ... 5 min, never in a loop. It never delays a later due time either.
    const at = retryAt === undefined ? due : Math.max(due, retryAt);
    arm(job, at, job.schedule.kind === "cron" && at === due && due > now ? due : job.slot);
  };

  const backoff = (job: Job) => Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(job.failures++, 20));

  const enqueue = (job: Job) => {
    job.timer = null;
    job.nextAt = null;
    if (stopped || job.running || job.queued) return;
    job.queued = true;
    queue.push(job);
    pump();
  };

  const pump = () => {
    while (!stopped && active.size < maxRuns && queue.length > 0) {
      const job = queue.splice(Math.floor(random() * queue.length), 1)[0] as Job; // random order among due jobs
      job.queued = false;
      const p = execute(job).finally(() => {
        active.delete(p);
        pump();
      });
      active.add(p);
    }
  };

  const execute = async (job: Job) => {
    job.running = true;
    let retryAt: number | undefined;
    try {
      const outcome = await withLock(
        locks,
        refreshLockKey(job.feature),
        async (signal) => {
          const last = (await runtime.stores.offline.latestRuns([job.feature]))[0] ?? null;
          job.lastRun = last;
          if (!isDue(job.schedule, last, Date.now(), job.slot)) return null;
          let announced = false;
          const onProgress = (p: FeatureRunResult) => {
            if (announced) return;
            announced = true;
            emit({ type: "started", feature: job.feature, runId: p.runId ?? "", resumed: p.resumed });
          };
          return runFeature(
            runtime,
            job.feature,
            { trigger: "schedule", concurrency: options.concurrency, onProgress },
            signal,
          );
        },
        { ttlMs: lockTtlMs, signal: stopController.signal, warn: runtime.settings.warn },
      );
      if (!outcome.acquired) {
        emit({ type: "skipped", feature: job.feature, reason: "locked" });
        retryAt = Date.now() + lockTtlMs; // look again once a dead holder's lock would have expired
      } else if (outcome.result === null) {
        emit({ type: "skipped", feature: job.feature, reason: "not-due" });
      } else {
        job.lastResult = outcome.result;
        emit({ type: "finished", feature: job.feature, result: outcome.result });
        if (outcome.result.status === "interrupted" && !stopped) retryAt = Date.now() + backoff(job);
        else job.failures = 0;
      }
    } catch (err) {
      emit({ type: "error", feature: job.feature, error: (err as Error).message });
      retryAt = Date.now() + backoff(job);
    } finally {
      job.running = false;
      job.slot = null;
    }
    if (!stopped) await plan(job, retryAt);
  };

  // Start: shuffle, then plan every job (resuming unfinished runs at once).
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j] as Job, jobs[i] as Job];
  }
  for (const job of jobs) void plan(job);

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const job of jobs) {
        if (job.timer) clearTimeout(job.timer);
        job.timer = null;
        job.nextAt = null;
      }
      queue.length = 0;
      stopController.abort(new Error("the scheduler is stopping"));
      while (active.size > 0) await Promise.allSettled([...active]);
    },
    status() {
      return jobs
        .map((job) => ({
          feature: job.feature,
          refresh: job.schedule.text,
          running: job.running,
          nextRunAt: job.nextAt === null ? null : toDatetime(job.nextAt),
          lastRun: job.lastRun,
          lastResult: job.lastResult,
        }))
        .sort((a, b) => a.feature.localeCompare(b.feature));
    },
  };
}
