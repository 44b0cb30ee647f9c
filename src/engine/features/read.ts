// Feature reads: online cache first, compute on a miss (written to the cache with its TTL and to history),
// and a recorded `fallback` when the cache is down or the function fails. Never a silent wrong value.
import type { FeatureDef } from "../../define/feature.js";
import { errorMessage, FabraError, toFabraError } from "../../errors.js";
import { datetimeToMs, nowDatetime } from "../../record/datetime.js";
import type { JsonValue } from "../../record/json.js";
import type { FeatureRecord, FeatureSource } from "../../record/types.js";
import type { OfflineStore, OnlineStore } from "../../stores/types.js";
import { parseDuration } from "../../util/duration.js";
import { didYouMean } from "../../util/suggest.js";
import { decodeValue, encodeValue, toJsonValue } from "../../record/values.js";

export interface FeatureRead {
  value: JsonValue;
  source: FeatureSource;
  asOf: string;
  freshnessMs: number;
  /** Set when the read fell back: what was served instead of a fresh value, and why. */
  fallback?: FallbackInfo;
}

/**
 * Why a read is `source: "fallback"`: the function failed and its `default` (no age: counts as stale) or the last
 * value from history (as old as it is) was served, or the online store was down and the value was computed.
 */
export interface FallbackInfo {
  served: "default" | "history" | "computed";
  reason: string;
}

export interface FeatureReaderDeps {
  online: OnlineStore;
  offline: OfflineStore;
  /** Reports degraded paths (cache down, compute failed) without failing the read. */
  warn: (message: string) => void;
  /** Counts degraded paths (for metrics and `fabra doctor`). */
  degraded?: DegradedCounts;
}

/** How often reads took a degraded path in this process. */
export interface DegradedCounts {
  /** Online store reads that failed (cache unreachable, timed out, unreadable entry). */
  onlineReadFailures: number;
  /** Feature reads served as `source: "fallback"`. */
  fallbackReads: number;
}

export function emptyDegradedCounts(): DegradedCounts {
  return { onlineReadFailures: 0, fallbackReads: 0 };
}

export function ttlMsOf(def: FeatureDef): number | undefined {
  const ttl = def.options.ttl;
  return ttl === undefined ? undefined : parseDuration(ttl, `ttl of feature ${def.name ?? ""}`);
}

export async function computeFeature(def: FeatureDef, entityId: string): Promise<JsonValue> {
  const value: unknown = await def.compute(entityId);
  return toJsonValue(value, `feature ${def.name}(${JSON.stringify(entityId)})`);
}

/**
 * Reads a feature value with its provenance. `cacheDown`: the caller already knows the online store failed
 * (a batch read), so it is not asked again and the value is computed as a fallback.
 */
export async function readFeature(
  def: FeatureDef,
  entityId: string,
  deps: FeatureReaderDeps,
  opts: { cacheDown?: boolean } = {},
): Promise<FeatureRead> {
  const read = await readThrough(def, entityId, deps, opts.cacheDown === true);
  if (read.source === "fallback" && deps.degraded) deps.degraded.fallbackReads++;
  return read;
}

async function readThrough(
  def: FeatureDef,
  entityId: string,
  deps: FeatureReaderDeps,
  knownDown: boolean,
): Promise<FeatureRead> {
  const name = def.name ?? "";
  let cacheDown = knownDown;
  if (!cacheDown) {
    let hit: { valueJson: string; asOf: string } | null = null;
    try {
      hit = await deps.online.get({ feature: name, entityId });
    } catch (err) {
      cacheDown = true;
      if (deps.degraded) deps.degraded.onlineReadFailures++;
      deps.warn(`online store read failed for ${name}(${entityId}); computing instead: ${errorMessage(err)}`);
    }
    if (hit) {
      const value = decodeCached(hit.valueJson);
      if (value !== undefined) {
        const freshnessMs = Math.max(0, Math.round(Date.now() - datetimeToMs(hit.asOf)));
        return { value, source: "cache", asOf: hit.asOf, freshnessMs };
      }
      // The cache answered, with an entry that does not decode: a miss, so the computed value overwrites it
      // (treating it as "cache down" would serve fallbacks until its TTL ran out, or forever without one).
      if (deps.degraded) deps.degraded.onlineReadFailures++;
      deps.warn(`the cached value of ${name}(${entityId}) is unreadable; computing it again to replace it`);
    }
  }

  let computed: JsonValue;
  try {
    computed = await computeFeature(def, entityId);
  } catch (err) {
    return fallback(def, entityId, err, deps);
  }
  const asOf = nowDatetime();
  await storeComputed(def, entityId, computed, asOf, deps, cacheDown);
  // A value computed because the cache was unreachable is recorded as a fallback, never as a normal read.
  if (!cacheDown) return { value: computed, source: "compute", asOf, freshnessMs: 0 };
  const fellBack: FallbackInfo = { served: "computed", reason: "the online store was unreachable" };
  return { value: computed, source: "fallback", asOf, freshnessMs: 0, fallback: fellBack };
}

async function storeComputed(
  def: FeatureDef,
  entityId: string,
  value: JsonValue,
  asOf: string,
  deps: FeatureReaderDeps,
  skipCache: boolean,
): Promise<void> {
  const name = def.name ?? "";
  const valueJson = encodeValue(value);
  const writes: Promise<void>[] = [
    deps.offline.writeValues([{ feature: name, entityId, valueJson, computedAt: asOf, runId: null }]),
  ];
  if (!skipCache) writes.push(deps.online.set({ feature: name, entityId }, { valueJson, asOf }, ttlMsOf(def)));
  const results = await Promise.allSettled(writes);
  for (const r of results) {
    if (r.status === "rejected")
      deps.warn(`could not store computed ${name}(${entityId}): ${(r.reason as Error).message}`);
  }
}

async function fallback(
  def: FeatureDef,
  entityId: string,
  err: unknown,
  deps: FeatureReaderDeps,
): Promise<FeatureRead> {
  const name = def.name ?? "";
  const reason = err instanceof Error ? err.message : String(err);
  if (def.options.default !== undefined) {
    deps.warn(`feature ${name}(${entityId}) failed (${reason}); serving its default`);
    return {
      value: toJsonValue(def.options.default, `default of feature ${name}`),
      source: "fallback",
      asOf: nowDatetime(),
      freshnessMs: 0,
      fallback: { served: "default", reason },
    };
  }
  const last = await deps.offline.latest(name, entityId).catch(() => null);
  if (last) {
    deps.warn(`feature ${name}(${entityId}) failed (${reason}); serving the last value from history`);
    const freshnessMs = Math.max(0, Math.round(Date.now() - datetimeToMs(last.computedAt)));
    return {
      value: decodeValue(last.valueJson),
      source: "fallback",
      asOf: last.computedAt,
      freshnessMs,
      fallback: { served: "history", reason },
    };
  }
  throw toFabraError(
    err,
    "FEATURE_COMPUTE_FAILED",
    `Feature ${name} failed for entity ${JSON.stringify(entityId)}`,
    `Fix the feature function, or give the feature a \`default\` to serve when it fails.`,
  );
}

/** A cached value's text as a value, or undefined when it does not decode (a corrupt or foreign entry). */
export function decodeCached(valueJson: string): JsonValue | undefined {
  try {
    return decodeValue(valueJson);
  } catch {
    return undefined;
  }
}

/** A read as it goes into the record. */
export function toFeatureRecord(name: string, entityId: string, read: FeatureRead): FeatureRecord {
  return {
    name,
    entity_id: entityId,
    value: read.value,
    source: read.source,
    as_of: read.asOf,
    freshness_ms: read.freshnessMs,
  };
}

export function unknownFeature(name: string, known: Iterable<string>): FabraError {
  const list = [...known];
  return new FabraError("FEATURE_NOT_FOUND", `Unknown feature "${name}"`, {
    hint:
      didYouMean(name, list) ??
      (list.length > 0
        ? `Known features: ${list.join(", ")}.`
        : "No features are defined; add a module to `definitions` in fabra.config.ts."),
  });
}
