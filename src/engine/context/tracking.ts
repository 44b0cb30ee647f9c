// Lineage tracking: every feature read and retrieval made inside a context call is captured into that call's
// trace. AsyncLocalStorage keeps concurrent, interleaved context calls from mixing their lineage.
import { AsyncLocalStorage } from "node:async_hooks";
import type { RetrievedChunk } from "../../define/types.js";
import type { FeatureRecord } from "../../record/types.js";
import type { FallbackInfo } from "../features/read.js";

/** A feature read of this call that fell back, with why. */
export interface TracedFallback extends FallbackInfo {
  feature: string;
  entityId: string;
}

export interface TracedRetrieval {
  retriever: string;
  index: string | null;
  chunks: RetrievedChunk[];
  /** When the retrieval started and ended (epoch ms), for its telemetry span. */
  startedAt?: number;
  endedAt?: number;
}

/** What a replay serves instead of live reads: the original record's feature values and chunks. */
export interface ReplaySource {
  /** The original record's created_at: features it did not read are taken from history as of this time. */
  asOf: string;
  features: Map<string, FeatureRecord>;
  chunks: Map<string, RetrievedChunk[]>;
  /** Serve only what the record holds: a feature it did not read is an error, never a history read (explain). */
  recordedOnly?: boolean;
}

export function featureKey(name: string, entityId: string): string {
  return `${name}\u0000${entityId}`;
}

export class Trace {
  readonly features: FeatureRecord[] = [];
  readonly retrievals: TracedRetrieval[] = [];
  readonly fallbacks: TracedFallback[] = [];
  private readonly seenFeatures = new Set<string>();

  constructor(readonly replay: ReplaySource | null = null) {}

  /** Records a feature read (and why it fell back); a second read of the same feature and entity keeps the first. */
  addFeature(read: FeatureRecord, fallback?: FallbackInfo): void {
    const key = featureKey(read.name, read.entity_id);
    if (this.seenFeatures.has(key)) return;
    this.seenFeatures.add(key);
    this.features.push(read);
    if (fallback) this.fallbacks.push({ feature: read.name, entityId: read.entity_id, ...fallback });
  }

  /** True when the read of `name` for `entityId` served the feature's default: a value with no age, never fresh. */
  servedDefault(name: string, entityId: string): boolean {
    return this.fallbacks.some((f) => f.served === "default" && f.feature === name && f.entityId === entityId);
  }

  addRetrieval(retrieval: TracedRetrieval): void {
    this.retrievals.push(retrieval);
  }
}

const storage = new AsyncLocalStorage<Trace>();

/** Runs `fn` with a fresh trace; everything it reads (through any number of awaits) lands in that trace. */
export function withTrace<T>(trace: Trace, fn: () => T): T {
  return storage.run(trace, fn);
}

/** The trace of the context call we are inside, if any. */
export function currentTrace(): Trace | undefined {
  return storage.getStore();
}
