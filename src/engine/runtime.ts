// The fabra runtime: definitions bound to a set of stores. This is what `createFabra()` returns and what the
// CLI and server drive. Definitions call back into it (`userTier.get(id)`, `chatContext(inputs)`).
import type { ContextDef } from "../define/context.js";
import type { FeatureDef } from "../define/feature.js";
import { bindRuntime } from "../define/registry.js";
import type { Definitions } from "../define/collect.js";
import { didYouMean } from "../util/suggest.js";
import type { RetrieverDef } from "../define/retriever.js";
import type { ContextResult, RetrievedChunk, Runtime } from "../define/types.js";
import { FabraError } from "../errors.js";
import { datetimeToMs } from "../record/datetime.js";
import { toPlain, type JsonValue } from "../record/json.js";
import type { Stores } from "../stores/types.js";
import { assembleContext, type AssemblyOptions, type AssemblySettings } from "./context/assemble.js";
import type { Embedder } from "./retrieval/embedder.js";
import {
  checkCached,
  emptyDegradedCounts,
  readFeature,
  toFeatureRecord,
  unknownFeature,
  type DegradedCounts,
  type FeatureRead,
} from "./features/read.js";
import { entityIdOf, requireEntityId } from "./features/entity-id.js";
import { checkHistoryTables, historyTableOf } from "./features/history-table.js";
import { materialize, type FeatureRunResult, type MaterializeOptions } from "./features/materialize.js";
import { startScheduler, type Scheduler, type SchedulerOptions } from "./features/schedule.js";
import { getTrainingData, type TrainingDataOptions } from "./features/training-data.js";
import { importHistory, type ImportHistoryOptions, type ImportHistorySummary } from "./features/import.js";
import { type PushedValue, type PushResult, pushValues } from "./features/push.js";
import { type IngestAccepted, type IngestInput, ingestEvent } from "./features/ingest.js";
import { type IngestConsumer, type IngestConsumerOptions, startIngestConsumer } from "./features/ingest-consumer.js";
import {
  indexDocuments,
  searchIndex,
  type DocumentInput,
  type IndexingProgress,
  type IndexingResult,
} from "./retrieval/search.js";
import { dropIndex, pruneDocuments, removeDocuments, type RemovedDocuments } from "./retrieval/hygiene.js";
import type { IndexedDocumentInfo } from "../stores/types.js";
import { checkRetrievedChunks } from "./retrieval/retrieved-chunks.js";
import { type Encoding, encodingFor } from "./context/tokens.js";
import { currentTrace, featureKey, Trace, type ReplaySource } from "./context/tracking.js";
import { decodeValue } from "../record/values.js";
import { Ledger } from "./ledger/ledger.js";
import { recordReceipt, type ReceiptInput } from "./context/receipt.js";
import { observeAssembly, type TelemetrySettings } from "./context/telemetry.js";
import { makeOutcome, type OutcomeEntry, type OutcomeInput } from "./ledger/outcome.js";
import type { LogSettings } from "./ledger/log.js";

export interface RuntimeSettings extends Omit<AssemblySettings, "ledger"> {
  /** Spans and JSON log lines per assembly (engine/context/telemetry.ts); absent = off. */
  telemetry?: TelemetrySettings;
  /** The largest record the ledger reads from a file or accepts as text (config evidence.maxRecordBytes). */
  maxRecordBytes?: number;
  /** The transparency log's origin and checkpoint signer key file (config `ledger`); absent: origin "fabra", no key. */
  transparencyLog?: LogSettings;
  embedder: Embedder;
  chunking: { chunkTokens: number; overlapTokens: number };
}

/** A feature value with its provenance, as the API and `fabra features get` show it. */
export interface FeatureValue {
  name: string;
  entityId: string;
  value: unknown;
  source: FeatureRead["source"];
  asOf: string;
  freshnessMs: number;
}

export class FabraRuntime implements Runtime {
  /** Degraded reads in this process (cache unreachable, fallbacks): for metrics and health checks. */
  readonly degraded: DegradedCounts = emptyDegradedCounts();
  /** The records: get, list, verify, import, export, diff, append — with this runtime's signing settings. */
  readonly ledger: Ledger;
  readonly index: {
    /**
     * Chunks, embeds and writes documents (a stream is read as it goes; `total` then says how many to expect);
     * unchanged documents are skipped.
     */
    add: (
      index: string,
      documents: DocumentInput[] | AsyncIterable<DocumentInput>,
      onProgress?: (done: number, total: number, chunks: number, progress: IndexingProgress) => void,
      options?: { total?: number; optimize?: boolean; onOptimize?: (done: number, total: number) => void },
    ) => Promise<IndexingResult>;
    /** Removes documents by id (all must be there, or nothing is removed). */
    remove: (index: string, documentIds: string[]) => Promise<RemovedDocuments>;
    /** Removes the documents not in `kept` whose source file no longer exists. */
    prune: (index: string, kept: ReadonlySet<string>) => Promise<RemovedDocuments>;
    /** Drops an index and its chunks. */
    drop: (index: string) => Promise<{ chunks: number }>;
    /** Builds what makes search on a large index fast (its HNSW graph) if it is stale; what was built, or null. */
    optimize: (index: string, onProgress?: (done: number, total: number) => void) => Promise<string | null>;
    /** The documents an index holds. */
    documents: (index: string) => Promise<IndexedDocumentInfo[]>;
    search: (
      index: string,
      query: string,
      options?: { topK?: number; minSimilarity?: number },
    ) => Promise<RetrievedChunk[]>;
  };

  constructor(
    readonly stores: Stores,
    readonly definitions: Definitions,
    readonly settings: RuntimeSettings,
  ) {
    for (const table of [definitions.features, definitions.retrievers, definitions.contexts, definitions.entities]) {
      for (const def of table.values()) bindRuntime(def, this);
    }
    // The store is read on each use: the server wraps stores.records after the runtime is made.
    this.ledger = new Ledger({
      records: () => this.stores.records,
      signing: () => settings.signing,
      maxRecordBytes: settings.maxRecordBytes,
    });
    const deps = { vector: stores.vector, embedder: settings.embedder };
    this.index = {
      add: (index, documents, onProgress, options = {}) =>
        indexDocuments(deps, index, documents, {
          ...settings.chunking,
          encodings: this.encodings(),
          onProgress,
          ...options,
        }),
      remove: (index, ids) => removeDocuments(stores.vector, index, ids),
      prune: (index, kept) => pruneDocuments(stores.vector, index, kept),
      drop: (index) => dropIndex(stores.vector, index),
      optimize: async (index, onProgress) => (await stores.vector.optimize?.(index, onProgress)) ?? null,
      documents: (index) => stores.vector.listDocuments(index),
      search: (index, query, options = {}) =>
        searchIndex(deps, index, query, {
          topK: options.topK ?? 5,
          minSimilarity: options.minSimilarity,
          retriever: "search",
        }),
    };
  }

  /** The encodings this project's contexts count tokens in (chunks are counted in each at index time). */
  encodings(): Set<Encoding> {
    return new Set([...this.definitions.contexts.values()].map((def) => encodingFor(def.options.model)));
  }

  /** The transparency log's settings (config `ledger`); without them, origin "fabra" and no signer key. */
  get logSettings(): LogSettings {
    return this.settings.transparencyLog ?? { origin: "fabra", keyFile: null };
  }

  // ------------------------------------------------------------------ features

  private featureDef(name: string) {
    const def = this.definitions.features.get(name);
    if (!def) throw unknownFeature(name, this.definitions.features.keys());
    return def;
  }

  /** Reads a feature with its provenance; inside a context call the read is recorded. */
  async getFeatureValue(name: string, entityId: string, opts: { cacheDown?: boolean } = {}): Promise<FeatureValue> {
    const def = this.featureDef(name);
    entityId = requireEntityId(entityId, `The entity id of feature ${name}`);
    const trace = currentTrace();
    const read = trace?.replay
      ? await this.replayedFeature(trace.replay, name, entityId)
      : await readFeature(
          def,
          entityId,
          {
            online: this.stores.online,
            offline: this.stores.offline,
            warn: this.settings.warn,
            degraded: this.degraded,
          },
          opts,
        );
    trace?.addFeature(toFeatureRecord(name, entityId, read), read.fallback);
    return {
      name,
      entityId,
      value: toPlain(read.value),
      source: read.source,
      asOf: read.asOf,
      freshnessMs: read.freshnessMs,
    };
  }

  /**
   * In a replay: the value the original record saw (with its recorded source), else the value in history as of the
   * original's time, recorded as `fallback` — CRS-001 knows only cache | compute | fallback, and `fallback` is what
   * fabra records whenever a value comes from history instead of the cache or a fresh compute. Neither is a read of
   * the live feature store, so neither counts as a degraded read (DegradedCounts, the server's feature-read metrics).
   */
  private async replayedFeature(replay: ReplaySource, name: string, entityId: string): Promise<FeatureRead> {
    const recorded = replay.features.get(featureKey(name, entityId));
    if (recorded)
      return {
        value: recorded.value,
        source: recorded.source,
        asOf: recorded.as_of,
        freshnessMs: Number(recorded.freshness_ms),
      };
    if (replay.recordedOnly) {
      throw new FabraError(
        "REPLAY_INCOMPATIBLE",
        `The function now reads ${name}(${entityId}), which the record does not hold`,
        {
          hint: "Explaining a record uses only what it recorded; the code changed since (check out the code version the record names).",
        },
      );
    }
    const past = await this.stores.offline.latest(name, entityId, replay.asOf);
    if (!past) {
      // The record exists and is fine; today's code asks for something it cannot reproduce.
      throw new FabraError(
        "REPLAY_INCOMPATIBLE",
        `Replay needs ${name}(${entityId}) as of ${replay.asOf}, but history has no value then`,
        {
          hint: "The function now reads a feature the original did not; replay with --live to use today's values.",
        },
      );
    }
    const freshnessMs = Math.max(0, Math.round(datetimeToMs(replay.asOf) - datetimeToMs(past.computedAt)));
    return { value: decodeValue(past.valueJson), source: "fallback", asOf: past.computedAt, freshnessMs };
  }

  /**
   * The value as it was at `asOf`, from offline history (the feature's own, or its history table), joined exactly as
   * training data joins it: by event time, or with `knownTime` only among values already known at `asOf`. NOT_FOUND
   * when history has none by then. `joinedBy` says which.
   */
  async getFeatureAsOf(
    name: string,
    entityId: string,
    asOf: string,
    options: { knownTime?: boolean } = {},
  ): Promise<Omit<FeatureValue, "source"> & { source: "history"; joinedBy: "event_time" | "known_time" }> {
    const def = this.featureDef(name);
    entityId = requireEntityId(entityId, `The entity id of feature ${name}`);
    const knownTime = options.knownTime === true;
    const table = historyTableOf(def, name);
    const result = await this.stores.offline.pointInTime(
      { kind: "keys", entityIds: [entityId], timestamps: [asOf] },
      [table === undefined ? { name } : { name, table }],
      { includeComputedAt: true, knownTime },
    );
    const valueJson = result.values[0]?.[0] ?? null;
    const computedAt = result.computedAt?.[0]?.[0] ?? null;
    if (valueJson === null || computedAt === null) {
      throw new FabraError(
        "NOT_FOUND",
        `No value of ${name} for ${entityId} at or before ${asOf}${knownTime ? " known by then" : ""}`,
        {
          hint:
            table !== undefined
              ? `History is the table ${def.options.history?.table}: it has no row for this entity by then.`
              : knownTime
                ? "By known time only values fabra had learned by then count; without --known-time, values backfilled later count at their event time."
                : "History starts when a value is first computed (on read or by `fabra materialize`), imported or pushed.",
        },
      );
    }
    const freshnessMs = Math.max(0, Math.round(datetimeToMs(asOf) - datetimeToMs(computedAt)));
    return {
      name,
      entityId,
      value: toPlain(decodeValue(valueJson)),
      source: "history",
      asOf: computedAt,
      freshnessMs,
      joinedBy: knownTime ? "known_time" : "event_time",
    };
  }

  /** Every feature with a history table checked against the offline store (each one's table and columns). */
  checkHistoryTables(): Promise<{ feature: string; detail: string }[]> {
    return checkHistoryTables(this.definitions.features, this.stores.offline);
  }

  async readFeature(name: string, entityId: string): Promise<unknown> {
    return (await this.getFeatureValue(name, entityId)).value;
  }

  /** Like the Python `store.get_feature`. */
  getFeature(name: string, entityId: string): Promise<unknown> {
    return this.readFeature(name, entityId);
  }

  /**
   * Many features × entities: cached values come from one online round trip (getMany); misses are computed.
   * Each result carries its own error instead of failing the batch.
   */
  async getFeatures(
    requests: { feature: string; entityId: string }[],
  ): Promise<(FeatureValue | { name: string; entityId: string; error: FabraError })[]> {
    const defs = requests.map((r) => this.definitions.features.get(r.feature));
    // Unknown features and bad entity ids are answered without asking the cache (getFeatureValue gives their errors).
    const ids = requests.map((r, i) => (defs[i] ? entityIdOf(r.entityId) : null));
    const lookups = requests.flatMap((r, i) =>
      ids[i] == null ? [] : [{ request: i, key: { feature: r.feature, entityId: ids[i] as string } }],
    );
    const cached: ({ valueJson: string; asOf: string } | null)[] = requests.map(() => null);
    let cacheDown = false;
    // Inside a replay every read goes through getFeatureValue, which serves the recorded / as-of values.
    const replaying = currentTrace()?.replay != null;
    try {
      if (!replaying && lookups.length > 0) {
        const hits = await this.stores.online.getMany(lookups.map((l) => l.key));
        lookups.forEach((l, j) => {
          cached[l.request] = hits[j] ?? null;
        });
      }
    } catch (err) {
      // One failed round trip is enough: every value is computed (recorded as a fallback) without asking again.
      cacheDown = true;
      this.degraded.onlineReadFailures++;
      this.settings.warn(`online store batch read failed; computing instead: ${(err as Error).message}`);
    }
    const now = Date.now();
    return Promise.all(
      requests.map(async (r, i) => {
        try {
          const entityId = ids[i];
          // An unknown feature or a bad id: getFeatureValue throws FEATURE_NOT_FOUND / INVALID_ARGUMENT with a hint.
          if (entityId == null) return await this.getFeatureValue(r.feature, r.entityId);
          const hit = cached[i];
          const check = hit ? checkCached(defs[i] as FeatureDef, hit, now) : undefined;
          // A miss, or an entry that does not decode or cannot be trusted (read again on its own: refused and counted
          // there, recomputed, and the entry replaced).
          if (!hit || !check?.ok) return await this.getFeatureValue(r.feature, entityId, { cacheDown });
          const read: FeatureRead = {
            value: check.value,
            source: "cache",
            asOf: hit.asOf,
            freshnessMs: check.freshnessMs,
          };
          currentTrace()?.addFeature(toFeatureRecord(r.feature, entityId, read));
          return {
            name: r.feature,
            entityId,
            value: toPlain(read.value),
            source: read.source,
            asOf: read.asOf,
            freshnessMs: read.freshnessMs,
          };
        } catch (err) {
          if (!(err instanceof FabraError)) throw err;
          return { name: r.feature, entityId: r.entityId, error: err };
        }
      }),
    );
  }

  // ------------------------------------------------------------------ feature store

  /**
   * Point-in-time training data: every event row with each feature's value as of the event's time (never a value
   * computed after it; null before the first one, or when older than the feature's ttl if one is given).
   */
  getTrainingData(options: TrainingDataOptions): Promise<Record<string, unknown>[]> {
    return getTrainingData({ definitions: this.definitions, offline: this.stores.offline }, options);
  }

  /**
   * Backfill: a CSV / Parquet / JSON lines file of (entity, event time, value) rows into a feature's offline history,
   * in transactional batches; importing the same file again adds nothing (see engine/features/import.ts).
   */
  importHistory(options: ImportHistoryOptions): Promise<ImportHistorySummary> {
    return importHistory({ definitions: this.definitions, offline: this.stores.offline }, options);
  }

  /** Values pushed from outside: into history and the online cache in one step (see engine/features/push.ts). */
  pushFeatureValues(values: PushedValue[]): Promise<PushResult> {
    return pushValues(
      { definitions: this.definitions, offline: this.stores.offline, online: this.stores.online },
      values,
    );
  }

  /**
   * An ingested event (POST /v1/ingest/{event}): validated and enqueued; the features declaring it in `triggers` are
   * recomputed for its entity by a consumer (see engine/features/ingest.ts).
   */
  ingest(eventType: string, input: IngestInput): Promise<IngestAccepted> {
    return ingestEvent({ definitions: this.definitions, events: this.stores.events }, eventType, input);
  }

  /** Consumes ingested events until `stop()` (see engine/features/ingest-consumer.ts). */
  startIngestConsumer(options: IngestConsumerOptions = {}): IngestConsumer {
    return startIngestConsumer(this, options);
  }

  /** Computes features for their entities into history and the online cache (see engine/materialize.ts). */
  materialize(options: MaterializeOptions = {}): Promise<FeatureRunResult[]> {
    return materialize(this, options);
  }

  /** Refreshes features with `refresh` and `materialize: true` on their schedules until `stop()`. */
  startScheduler(options: SchedulerOptions = {}): Scheduler {
    return startScheduler(this, options);
  }

  // ------------------------------------------------------------------ retrieval

  async runRetriever(name: string, query: string): Promise<RetrievedChunk[]> {
    const def = this.definitions.retrievers.get(name);
    if (!def) {
      throw new FabraError("NOT_FOUND", `Unknown retriever "${name}"`, {
        hint: hintFor(name, this.definitions.retrievers.keys()),
      });
    }
    const trace = currentTrace();
    const startedAt = Date.now();
    // A replay hands back the chunks the original saw, in its order, whatever the index holds today.
    const chunks = trace?.replay ? (trace.replay.chunks.get(name) ?? []) : await this.retrieve(def, name, query);
    trace?.addRetrieval({ retriever: name, index: def.options.index ?? null, chunks, startedAt, endedAt: Date.now() });
    return chunks;
  }

  private async retrieve(def: RetrieverDef, name: string, query: string): Promise<RetrievedChunk[]> {
    const deps = { vector: this.stores.vector, embedder: this.settings.embedder };
    const search = (q: string, options: { topK?: number; minSimilarity?: number } = {}) =>
      searchIndex(deps, def.options.index, q, {
        topK: options.topK ?? def.options.topK ?? 5,
        minSimilarity: options.minSimilarity ?? def.options.minSimilarity,
        retriever: name,
      });
    if (!def.body) return search(query);
    return checkRetrievedChunks(await def.body(query, { search }), name, def.options.index);
  }

  // ------------------------------------------------------------------ contexts

  contextDef(name: string): ContextDef {
    const def = this.definitions.contexts.get(name);
    if (!def) {
      throw new FabraError("CONTEXT_NOT_FOUND", `Unknown context "${name}"`, {
        hint: hintFor(name, this.definitions.contexts.keys()),
      });
    }
    return def;
  }

  async runContext(
    name: string,
    inputs: Record<string, unknown>,
    options: AssemblyOptions = {},
  ): Promise<ContextResult> {
    const def = this.contextDef(name);
    const telemetry = this.settings.telemetry;
    if (!telemetry) return assembleContext(def, name, inputs, { ...this.settings, ledger: this.ledger }, options);
    const trace = options.trace ?? new Trace();
    return observeAssembly(telemetry, { name, model: def.options.model ?? null, trace, warn: this.settings.warn }, () =>
      assembleContext(def, name, inputs, { ...this.settings, ledger: this.ledger }, { ...options, trace }),
    );
  }

  /** Assembles a context by name or definition. */
  async assemble(context: string | ContextDef, inputs: Record<string, unknown>): Promise<ContextResult> {
    const name = typeof context === "string" ? context : context.name;
    if (!name)
      throw new FabraError("INVALID_DEFINITION", "The context has no name", {
        hint: "Register it with createFabra first.",
      });
    return this.runContext(name, inputs);
  }

  /**
   * Writes a CRS-001 record for a prompt the app built itself (content or messages, inputs, and the features and
   * chunks it used): sealed, signed and persisted per the evidence mode, like an assembly.
   */
  record(receipt: ReceiptInput): Promise<ContextResult> {
    return recordReceipt(receipt, { ...this.settings, ledger: this.ledger });
  }

  // ------------------------------------------------------------------ outcomes

  /**
   * Links a model call's outcome to the record `contextId` (an append-only ledger entry beside the record; the record
   * and its hash never change). The output text is kept only when `evidence.includeContent` is on; its hash always.
   */
  async recordOutcome(contextId: string, outcome: OutcomeInput): Promise<OutcomeEntry> {
    return this.ledger.appendOutcome(makeOutcome(contextId, outcome, this.settings.includeContent));
  }

  /** The outcome entries linked to a record, oldest first. */
  outcomes(contextId: string): Promise<OutcomeEntry[]> {
    return this.ledger.outcomes(contextId);
  }

  close(): Promise<void> {
    return this.stores.close();
  }
}

function hintFor(name: string, known: Iterable<string>): string {
  const list = [...known];
  return (
    didYouMean(name, list) ??
    (list.length > 0
      ? `Known: ${list.join(", ")}.`
      : "None are defined; add a module to `definitions` in fabra.config.ts.")
  );
}
