// What definitions need from the engine that runs them. Definitions are plain objects made by
// entity()/feature()/retriever()/context(); createFabra() registers them with a runtime that implements this.
import type { ContextRecord, DroppedItemRecord, FreshnessStatus } from "../record/types.js";

/** Token counts of one text per tokenizer encoding (those known; the others are counted when needed). */
export interface TokenCounts {
  readonly cl100k_base?: number;
  readonly o200k_base?: number;
}

/** A chunk a retriever returned, as user code sees it. */
export interface RetrievedChunk {
  chunkId: string;
  documentId: string;
  content: string;
  similarity: number;
  sourceUrl: string | null;
  /** Tokens of `content` in cl100k_base (the chunking tokenizer), as counted at index time. */
  tokenCount: number;
  /**
   * Tokens of `content` per encoding, as counted at index time for the encodings the project's contexts use.
   * Assembly takes the model's count from here (else counts the content once); a body that changes `content`
   * gets these dropped (they belong to the text the index holds).
   */
  tokenCounts?: TokenCounts;
  /** When the chunk was indexed (normal-form datetime). */
  indexedAt: string;
  contentHash: string;
  retriever: string;
  index: string;
}

/** Who a message is from, as the chat APIs name it. */
export type MessageRole = "system" | "user" | "assistant" | "tool";

/** One chat message: consecutive included items of one role, joined. */
export interface ContextMessage {
  role: MessageRole;
  content: string;
}

/** One piece of context. Lower `priority` = more important; optional items with higher values are dropped first. */
export interface ContextItem {
  content: string;
  /** 0 is most important. Default 0. */
  priority?: number;
  /** Required items are never dropped. Default false. */
  required?: boolean;
  /** Names the item in `dropped_items`; defaults to the chunk id for chunk items, else `item_<n>`. */
  id?: string;
  /** The chunk this item carries, linking it to `retrieved_items` (its priority is recorded there). */
  source?: RetrievedChunk | RetrievedChunk[];
  /** The message this item goes into; an item without one takes the role before it (`system` first). */
  role?: MessageRole;
}

export interface FeatureFallback {
  feature: string;
  entityId: string;
  served: "default" | "history" | "computed";
  /** The error, as the function or store gave it. */
  reason: string;
}

/**
 * Whether the record is in the ledger: true (seen there), false (the ledger said it is not: best_effort only), or
 * "unknown" (the append failed and the ledger could not be read back: best_effort only).
 */
export type Persisted = boolean | "unknown";

export interface ContextMeta {
  budgetExceeded: boolean;
  freshnessStatus: FreshnessStatus;
  freshnessViolations: string[];
  /**
   * The feature reads that fell back, and why: `served` is "default" (the function failed; the value counts as
   * stale), "history" (the function failed; the last value, as old as it is) or "computed" (the cache was down).
   */
  featureFallbacks: FeatureFallback[];
  latencyMs: number;
  estimatedCostUsd: number;
  recordHash: string;
  /** Not true only in best_effort evidence mode, when the record was not (false) or may not have been ("unknown") written. */
  persisted: Persisted;
  /** The interaction this call serves, from its interaction inputs (define/inputs.ts interactionRef); null if none. */
  interactionRef: string | null;
}

/** What calling a context function returns. */
export interface ContextResult {
  id: string;
  /** Exactly what the record's content commits to: the joined items, or the serialized messages when items have roles. */
  content: string;
  /** The included items in order, grouped by role (no roles: one system message holding `content`). */
  messages: ContextMessage[];
  tokenCount: number;
  dropped: DroppedItemRecord[];
  meta: ContextMeta;
  record: ContextRecord;
}

export interface Runtime {
  readFeature(name: string, entityId: string): Promise<unknown>;
  runRetriever(name: string, query: string): Promise<RetrievedChunk[]>;
  runContext(name: string, inputs: Record<string, unknown>): Promise<ContextResult>;
}
