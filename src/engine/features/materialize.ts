// Materialization: compute a feature for each of its entities with bounded concurrency and write the values to the
// online cache (with the feature's TTL) and to history, in transactional batches, as one run. A run that dies
// (crash, kill, error, shutdown) is resumed by the next one under the same run id: entities it already wrote are
// skipped, so history ends with exactly one row per (feature, entity, run). An entity whose function throws is
// reported with its error and the others go on.
import type { Definitions } from "../../define/collect.js";
import type { FeatureDef } from "../../define/feature.js";
import { errorMessage, FabraError } from "../../errors.js";
import { nowDatetime, toDatetime } from "../../record/datetime.js";
import type { RunStatus, RunTrigger, Stores } from "../../stores/types.js";
import { featureEntities, type EntityList } from "./entity-source.js";
import { computeFeature, ttlMsOf, unknownFeature } from "./read.js";
import { describeHolder, refreshLockKey, withLock } from "./locks.js";
import { encodeValue } from "../../record/values.js";

/** What materialization needs from the runtime. */
export interface MaterializeRuntime {
  readonly definitions: Definitions;
  readonly stores: Stores;
  readonly settings: { warn: (message: string) => void };
}

export interface MaterializeOptions {
  /** Feature names; default: every feature with `materialize: true`. */
  features?: string[];
  /** Entity ids to use instead of each feature's own `entities` (e.g. from `--entities FILE`). */
  entities?: string[];
  /** Entities computed at once (default 8). */
  concurrency?: number;
  /** Values per transactional write (default 1000). */
  batchSize?: number;
  /** A partial batch is written at least this often (default 1000 ms), so a crash loses little work. */
  flushIntervalMs?: number;
  trigger?: RunTrigger;
  /** Stops taking new entities; in-flight ones finish, their batch is written, the run is left to resume. */
  signal?: AbortSignal;
  /** TTL of the feature's refresh lock (default 30s), extended while the run goes on. */
  lockTtlMs?: number;
  /** Called as the run progresses (often: throttle in the consumer). */
  onProgress?: (progress: FeatureRunResult) => void;
}

/** How a feature's run went (also the progress snapshot while it runs, with status "running"). */
export interface FeatureRunResult {
  feature: string;
  runId: string | null;
  /** The run continued one that a crash, error or shutdown left unfinished. */
  resumed: boolean;
  /** "locked": another process holds the feature's refresh lock; nothing was done. */
  status: RunStatus | "locked";
  /** Entities in the source, when known. */
  total: number | null;
  /** Entities this run had written before it was resumed (skipped now). */
  alreadyWritten: number;
  /** Values computed by this attempt (written, or waiting in the current batch). */
  computed: number;
  written: number;
  failed: number;
  /** Failed entities with their errors (the first 1000). */
  errors: { entityId: string; error: string }[];
  /** Why the run stopped early (interrupted or locked). */
  error: string | null;
  startedAt: string;
  durationMs: number;
}

const MAX_ERRORS_KEPT = 1000;

/** The features a materialization covers, checked before any work: unknown names, features without entities. */
export function planMaterialize(
  runtime: MaterializeRuntime,
  options: Pick<MaterializeOptions, "features" | "entities"> = {},
): string[] {
  const defs = runtime.definitions.features;
  const names =
    options.features && options.features.length > 0
      ? [...new Set(options.features)]
      : [...defs].filter(([, d]) => d.options.materialize === true).map(([n]) => n);
  if (names.length === 0) {
    throw new FabraError("INVALID_ARGUMENT", "No feature has materialize: true, so there is nothing to materialize", {
      hint: "Set materialize: true (and entities) on a feature, or name the features: fabra materialize <feature...>.",
    });
  }
  for (const name of names) {
    const def = defs.get(name);
    if (!def) throw unknownFeature(name, defs.keys());
    if (options.entities === undefined && def.options.entities === undefined) throw noEntities(name);
  }
  return names;
}

function noEntities(name: string): FabraError {
  return new FabraError("INVALID_DEFINITION", `Feature ${name} has no entities to materialize`, {
    hint: "Give the feature `entities` (a list, { sql }, or a function returning ids), or pass --entities FILE.",
  });
}

/** Materializes features one after another; each result says how its run went (nothing is thrown per feature). */
export async function materialize(
  runtime: MaterializeRuntime,
  options: MaterializeOptions = {},
): Promise<FeatureRunResult[]> {
  const names = planMaterialize(runtime, options);
  const results: FeatureRunResult[] = [];
  for (const name of names) {
    if (options.signal?.aborted) break;
    results.push(await materializeFeature(runtime, name, options));
  }
  return results;
}

/** One feature's run under its refresh lock. */
export async function materializeFeature(
  runtime: MaterializeRuntime,
  name: string,
  options: MaterializeOptions = {},
): Promise<FeatureRunResult> {
  const startedAt = nowDatetime();
  const began = Date.now();
  const outcome = await withLock(
    runtime.stores.locks,
    refreshLockKey(name),
    (signal) => runFeature(runtime, name, options, signal),
    {
      ttlMs: options.lockTtlMs,
      signal: options.signal,
      warn: runtime.settings.warn,
    },
  );
  if (outcome.acquired) return outcome.result;
  const locked: FeatureRunResult = {
    ...emptyResult(name, startedAt),
    status: "locked",
    error: `another process is materializing ${name} (${describeHolder(outcome.holder)})`,
    durationMs: Date.now() - began,
  };
  options.onProgress?.(locked);
  return locked;
}

function emptyResult(feature: string, startedAt: string): FeatureRunResult {
  return {
    feature,
    runId: null,
    resumed: false,
    status: "running",
    total: null,
    alreadyWritten: 0,
    computed: 0,
    written: 0,
    failed: 0,
    errors: [],
    error: null,
    startedAt,
    durationMs: 0,
  };
}

/** Runs (or resumes) the feature's run; the caller holds the refresh lock. Throws only before a run exists (no entities, beginRun failing). */
export async function runFeature(
  runtime: MaterializeRuntime,
  name: string,
  options: MaterializeOptions,
  signal: AbortSignal,
): Promise<FeatureRunResult> {
  const def = runtime.definitions.features.get(name);
  if (!def) throw unknownFeature(name, runtime.definitions.features.keys());
  // A definition error is no run: nothing to resume, and a retry cannot fix it.
  if (options.entities === undefined && def.options.entities === undefined) throw noEntities(name);
  const { offline } = runtime.stores;
  const began = Date.now();
  const { run, resumed } = await offline.beginRun(name, options.trigger ?? "manual");
  const progress: FeatureRunResult = { ...emptyResult(name, run.startedAt), runId: run.runId, resumed };
  // Progress snapshots go out at most every 50 ms while computing (and at every write, failure and the end).
  let lastReport = 0;
  const report = (force = true) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!force && now - lastReport < 50) return;
    lastReport = now;
    progress.durationMs = now - began;
    options.onProgress({ ...progress, errors: [...progress.errors] });
  };
  let failure: unknown = null;
  try {
    const already = resumed ? await offline.writtenEntities(name, run.runId) : new Set<string>();
    const list: EntityList = options.entities
      ? { ids: options.entities, total: options.entities.length, origin: "entities file" }
      : await featureEntities(def, name, offline);
    progress.total = list.total;
    report();
    failure = await computeAndWrite(runtime, def, name, run.runId, list, already, progress, report, options, signal);
  } catch (err) {
    failure = err;
  }
  const stopped = failure === null && signal.aborted;
  const status: RunStatus = failure !== null || stopped ? "interrupted" : progress.failed > 0 ? "partial" : "succeeded";
  progress.status = status;
  progress.error =
    failure !== null
      ? errorMessage(failure)
      : stopped
        ? `stopped before the end (${errorMessage(signal.reason ?? "shutdown")})`
        : null;
  // Fenced by the attempt: if this worker was paused past its lock's TTL and another one resumed (or finished) the
  // run meanwhile, this stale outcome changes nothing.
  const stored = await offline.endRun(run.runId, {
    status,
    attempt: run.attempt,
    entitiesWritten: progress.alreadyWritten + progress.written,
    entitiesFailed: progress.failed,
    error:
      progress.error ?? (progress.errors[0] ? `${progress.errors[0].entityId}: ${progress.errors[0].error}` : null),
  });
  if (stored.attempt !== run.attempt || stored.status !== status) {
    progress.status = "interrupted";
    progress.error = `another worker took over run ${run.runId} (attempt ${stored.attempt}, ${stored.status}); this attempt's outcome (${status}) was not recorded`;
    runtime.settings.warn(`${name}: ${progress.error}`);
  }
  progress.durationMs = Date.now() - began;
  report();
  return progress;
}

/** The worker pool; returns the run-level failure (source or store), or null. */
async function computeAndWrite(
  runtime: MaterializeRuntime,
  def: FeatureDef,
  name: string,
  runId: string,
  list: EntityList,
  already: Set<string>,
  progress: FeatureRunResult,
  report: (force?: boolean) => void,
  options: MaterializeOptions,
  signal: AbortSignal,
): Promise<unknown> {
  const { offline, online } = runtime.stores;
  const ttlMs = ttlMsOf(def);
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const source = Symbol.asyncIterator in list.ids ? list.ids[Symbol.asyncIterator]() : list.ids[Symbol.iterator]();
  const seen = new Set<string>();
  // computed_at of each value: now, formatted once per millisecond (many values share one).
  let stampMs = -1;
  let stampText = "";
  const stamp = () => {
    const ms = Date.now();
    if (ms !== stampMs) {
      stampMs = ms;
      stampText = toDatetime(ms);
    }
    return stampText;
  };
  let failure: unknown = null;
  let buffer: { entityId: string; valueJson: string; computedAt: string }[] = [];
  let writing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (buffer.length === 0) return writing;
    const batch = buffer;
    buffer = [];
    writing = writing.then(async () => {
      if (failure !== null) return;
      try {
        // Cache first, history second: history is what a resumed run trusts, so it is written last.
        await online.setMany(
          batch.map((b) => ({
            key: { feature: name, entityId: b.entityId },
            value: { valueJson: b.valueJson, asOf: b.computedAt },
            ttlMs,
          })),
        );
        await offline.writeValues(
          batch.map((b) => ({
            feature: name,
            entityId: b.entityId,
            valueJson: b.valueJson,
            computedAt: b.computedAt,
            runId,
          })),
        );
        progress.written += batch.length;
        report();
      } catch (err) {
        failure = err;
      }
    });
    return writing;
  };

  const nextId = async (): Promise<string | undefined> => {
    for (;;) {
      if (signal.aborted || failure !== null) return undefined;
      const step = await source.next();
      if (step.done) return undefined;
      const id = step.value;
      if (seen.has(id)) continue;
      seen.add(id);
      if (already.has(id)) {
        progress.alreadyWritten++;
        continue;
      }
      return id;
    }
  };

  const worker = async () => {
    for (;;) {
      let id: string | undefined;
      try {
        id = await nextId();
      } catch (err) {
        failure ??= new FabraError(
          "FEATURE_COMPUTE_FAILED",
          `The ${list.origin} of ${name} failed: ${errorMessage(err)}`,
          { cause: err },
        );
        return;
      }
      if (id === undefined) return;
      try {
        const value = await computeFeature(def, id);
        buffer.push({ entityId: id, valueJson: encodeValue(value), computedAt: stamp() });
        progress.computed++;
        report(false);
      } catch (err) {
        progress.failed++;
        if (progress.errors.length < MAX_ERRORS_KEPT) progress.errors.push({ entityId: id, error: errorMessage(err) });
        report();
        continue;
      }
      if (buffer.length >= batchSize) await flush();
    }
  };

  const timer = setInterval(() => void flush(), Math.max(10, options.flushIntervalMs ?? 1000));
  try {
    const concurrency = Math.max(1, options.concurrency ?? 8);
    await Promise.all(Array.from({ length: concurrency }, worker));
    await flush();
  } finally {
    clearInterval(timer);
  }
  if (progress.total === null && failure === null && !signal.aborted) progress.total = seen.size;
  return failure;
}
