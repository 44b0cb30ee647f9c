// Feature reads: online cache first, compute on a miss (written to the cache with its TTL and to history),
// and a recorded `fallback` when the cache is down or the function fails. Never a silent wrong value.
import type { FeatureDef, FeatureTrigger } from "../../define/feature.js";
import { errorMessage, FabraError, toFabraError } from "../../errors.js";
import { datetimeToMs, nowDatetime } from "../../record/datetime.js";
import { JsonFloat, type JsonValue } from "../../record/json.js";
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
  /** Cached entries refused as misses: an `as_of` in the future, or a value of the wrong JSON kind. */
  rejectedCacheEntries: number;
}

export function emptyDegradedCounts(): DegradedCounts {
  return { onlineReadFailures: 0, fallbackReads: 0, rejectedCacheEntries: 0 };
}

/** How far ahead of this clock a cached `as_of` may be (writers on other hosts) before the entry is refused. */
export const MAX_CACHE_CLOCK_SKEW_MS = 2_000;

/** A cached entry checked before it is served: its value, or why it is refused (unreadable, or untrustworthy). */
export type CachedCheck =
  | { ok: true; value: JsonValue; freshnessMs: number }
  | { ok: false; unreadable: boolean; reason: string };

/**
 * Checks a cached entry the way a value from another process must be checked: it decodes as kind-preserving JSON,
 * its `as_of` is not in the future (beyond MAX_CACHE_CLOCK_SKEW_MS), and when the feature declares a default, the
 * value has the default's JSON kind (null is always accepted: a function may return it).
 */
export function checkCached(
  def: FeatureDef,
  hit: { valueJson: string; asOf: string },
  nowMs = Date.now(),
): CachedCheck {
  const value = decodeCached(hit.valueJson);
  if (value === undefined) return { ok: false, unreadable: true, reason: "is unreadable" };
  const asOfMs = datetimeToMs(hit.asOf);
  if (!Number.isFinite(asOfMs) || asOfMs > nowMs + MAX_CACHE_CLOCK_SKEW_MS)
    return { ok: false, unreadable: false, reason: `has an as_of in the future (${hit.asOf})` };
  const declared = def.options.default;
  if (declared !== undefined && declared !== null && value !== null) {
    const expected = jsonKind(toJsonValue(declared, `default of feature ${def.name ?? ""}`));
    const actual = jsonKind(value);
    if (expected !== actual)
      return { ok: false, unreadable: false, reason: `is a ${actual}, but the feature's default is a ${expected}` };
  }
  return { ok: true, value, freshnessMs: Math.max(0, Math.round(nowMs - asOfMs)) };
}

/** The JSON kind of a value: null, boolean, number (int, float or big), string, array, object. */
export function jsonKind(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof JsonFloat || typeof value === "bigint" || typeof value === "number") return "number";
  return typeof value === "object" ? "object" : typeof value;
}

/** Counts and reports a refused cached entry (the value is then computed and replaces it). */
export function reportRefusedCache(
  name: string,
  entityId: string,
  check: Extract<CachedCheck, { ok: false }>,
  deps: Pick<FeatureReaderDeps, "warn" | "degraded">,
): void {
  if (deps.degraded) {
    if (check.unreadable) deps.degraded.onlineReadFailures++;
    else deps.degraded.rejectedCacheEntries++;
  }
  deps.warn(`the cached value of ${name}(${entityId}) ${check.reason}; computing it again to replace it`);
}

export function ttlMsOf(def: FeatureDef): number | undefined {
  const ttl = def.options.ttl;
  return ttl === undefined ? undefined : parseDuration(ttl, `ttl of feature ${def.name ?? ""}`);
}

export async function computeFeature(def: FeatureDef, entityId: string, trigger?: FeatureTrigger): Promise<JsonValue> {
  const value: unknown = await (trigger === undefined ? def.compute(entityId) : def.compute(entityId, trigger));
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
      const check = checkCached(def, hit);
      if (check.ok) return { value: check.value, source: "cache", asOf: hit.asOf, freshnessMs: check.freshnessMs };
      // The cache answered, with an entry that does not decode or cannot be trusted: a miss, so the computed value
      // overwrites it (treating it as "cache down" would serve fallbacks until its TTL ran out, or forever without one).
      reportRefusedCache(name, entityId, check, deps);
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
  // A feature whose history is a table of the user's (history: { table }) keeps no history of its own here.
  const writes: Promise<void>[] =
    def.options.history === undefined
      ? [deps.offline.writeValues([{ feature: name, entityId, valueJson, computedAt: asOf, runId: null }])]
      : [];
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
