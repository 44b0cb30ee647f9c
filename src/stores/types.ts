// The small interfaces every storage backend implements. The engine talks only to these; backends live one folder
// each (memory/, duckdb/, postgres/, redis/, remote/), are loaded lazily by index.ts and wrapped by instrument.ts.
//
// Conventions shared by every backend:
// - Datetimes cross these interfaces as CRS-001 normal-form strings (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, UTC).
// - Values cross them as kind-preserving JSON text (src/record/canonical.ts), never as JS numbers,
//   so a float stays a float and a 70-bit integer stays exact in every store.
// - Failures are FabraErrors (STORE_UNAVAILABLE, LEDGER_LOCKED, RECORD_CONFLICT, ...), never raw driver errors
//   (instrument.ts maps any that a backend let through).
import type { NodeKey } from "../tlog/merkle.js";

/** What a backend can do; the engine reads these instead of checking backend names. */
export interface StoreCapabilities {
  /** Several processes may write at once (Postgres yes; an embedded DuckDB file no). */
  concurrentWriters: boolean;
  /** Data survives the process. */
  persistent: boolean;
  /** Other processes running at the same time see what this one writes (Redis, Postgres; not the in-process cache). */
  sharedAcrossProcesses: boolean;
}

/** How a health check came out: warn works but deserves a look (e.g. vector search without pgvector). */
export type CheckState = "ok" | "warn" | "fail";

/** One line of a store's health check, as `fabra doctor` prints it and `GET /ready` reads it. */
export interface StoreCheck {
  name: string;
  state: CheckState;
  detail: string;
  /** What to do about a warn/fail. */
  fix?: string;
}

/** What every store answers when asked whether it works: a real round trip, never writing anything that stays. */
export interface Probed {
  probe(): Promise<StoreCheck[]>;
}

// ---------------------------------------------------------------- records (the ledger)

/** One ledger row: the record's exact canonical text plus the columns it is looked up by. */
export interface LedgerRow {
  contextId: string;
  createdAt: string;
  contextFunction: string;
  environment: string;
  tokenCount: number;
  recordHash: string;
  previousContextId: string | null;
  /** The whole record (hashes and signature included) in CRS-001 canonical form. */
  canonicalText: string;
  /**
   * Brought in by `fabra context import` (an operator's explicit action), not produced by this deployment's context
   * assembly. A ledger column, never a record field; absent means false.
   */
  imported?: boolean;
}

/**
 * A ledger row as verification reads it: the record's canonical text as its UTF-8 bytes, not decoded to a string,
 * with the indexed record_hash column it is cross-checked against.
 */
export interface RawLedgerRow {
  readonly contextId: string;
  /** Normal-form datetime. Only read for rows being reported, so a store may compute it on demand. */
  readonly createdAt: string;
  readonly recordHash: string;
  readonly canonicalBytes: Uint8Array;
}

export interface RecordFilter {
  contextFunction?: string;
  /** Inclusive lower bound on created_at (normal-form datetime). */
  since?: string;
  /** Exclusive upper bound on created_at (normal-form datetime). */
  until?: string;
  /** Newest first by default. */
  order?: "desc" | "asc";
  limit?: number;
  /** Continue after this context_id (keyset pagination in the chosen order). */
  cursor?: string;
  /** Records whose inputs hold each of these (`userId=u_1`): run in the database (record-filter.ts). */
  inputs?: readonly ValueFilter[];
  /** Records that used each of these feature values (`userTier=enterprise`), whatever the entity. */
  features?: readonly ValueFilter[];
  /** Records whose assembly.freshness_status is this. */
  freshnessStatus?: "guaranteed" | "degraded" | "unknown";
  /** true: only records that dropped an item; false: only records that dropped none. */
  hasDrops?: boolean;
  /** Replays of this record (their integrity.previous_context_id, an indexed column). */
  replaysOf?: string;
}

/**
 * A name and the value as typed (`enterprise`, `3`, `true`): it matches the string itself or, when the text is JSON
 * (a number, true/false/null, an object), that JSON value.
 */
export interface ValueFilter {
  name: string;
  value: string;
}

export type AppendOutcome = "inserted" | "exists";

/** One outcome entry (a model call's answer, linked to a record): its canonical JSON and its domain-separated hash. */
export interface OutcomeRow {
  outcomeId: string;
  contextId: string;
  recordedAt: string;
  /** `sha256:` over `fabra:outcome:v1\n` + canonicalText (engine/ledger/outcome.ts). */
  entryHash: string;
  canonicalText: string;
}

export interface RecordStore extends Probed {
  readonly capabilities: StoreCapabilities;
  /**
   * Appends a record. The same context_id with the same record_hash is a no-op ("exists");
   * with a different hash it throws RECORD_CONFLICT naming both hashes. Atomic: a row is whole or absent.
   */
  append(row: LedgerRow): Promise<AppendOutcome>;
  get(contextId: string): Promise<LedgerRow | null>;
  /**
   * The row whose record_hash is `recordHash` (`sha256:<64 hex>`, lower case), through the indexed record_hash
   * column; the earliest one should several records share it. Null when there is none.
   */
  getByHash(recordHash: string): Promise<LedgerRow | null>;
  list(filter?: RecordFilter): Promise<LedgerRow[]>;
  count(filter?: Omit<RecordFilter, "limit" | "cursor" | "order">): Promise<number>;
  /** Every row in created_at order, in batches, for export (and `verify --all` on stores without scanRaw). */
  scan(batchSize?: number): AsyncIterable<LedgerRow[]>;
  /**
   * Every row once, reduced to what verification reads, for `verify --all`: in batches, in whatever order the store
   * reads fastest. Optional: a store that can hand the text over as bytes more cheaply than scan() implements it;
   * `scanRawRows` (engine/ledger.ts) reads scan() for the others.
   */
  scanRaw?(batchSize?: number): AsyncIterable<RawLedgerRow[]>;
  /** Appends an outcome entry (append-only; the same outcome_id twice is refused). Optional: stores without it say so. */
  appendOutcome?(row: OutcomeRow): Promise<void>;
  /** The outcome entries linked to a record, oldest first. */
  listOutcomes?(contextId: string): Promise<OutcomeRow[]>;
  /** Every outcome entry once, in batches, in whatever order the store reads fastest (`ledger verify`). */
  scanOutcomes?(batchSize?: number): AsyncIterable<OutcomeRow[]>;
  // The transparency log beside the ledger (TLOG-001): optional, absent on stores that keep none (the remote store).
  /**
   * The sequencer step: entries (records and outcome entries) not yet in the log get the next leaf indices, in the
   * order they were appended (a catch-up of entries appended before this process knew of them: in (time, id) order),
   * in transactions under one lock (so concurrent appenders never wait on it and there is one total order); the new
   * leaf and subtree hashes are stored with them. Returns the tree size after.
   */
  integrateLog?(): Promise<number>;
  /** The number of leaves in the log. */
  logSize?(): Promise<number>;
  /** Stored complete-subtree hashes by (level, index), in the order asked; a missing one is an error. */
  readLogNodes?(keys: readonly NodeKey[]): Promise<Uint8Array[]>;
  /**
   * The same hashes read through the log's tiles (a few rows for a whole audit path): for inclusion proofs, which
   * are checked against a signed root, never for what is signed or verified.
   */
  readLogProofNodes?(keys: readonly NodeKey[]): Promise<Uint8Array[]>;
  /** The leaf index of a record (context id) or outcome entry (outcome id), or null while it is not integrated. */
  logLeafIndex?(id: string): Promise<number | null>;
  /** Every leaf in index order with its stored leaf hash and the entry's leaf bytes now (null when the row is gone). */
  scanLogLeaves?(batchSize?: number): AsyncIterable<LogLeaf[]>;
  /** Every leaf's index, entry id and stored leaf hash, in index order, without the entries' bytes. */
  scanLogIndex?(batchSize?: number): AsyncIterable<LogIndexEntry[]>;
  /** Keeps a checkpoint (signed note) fabra signed for a tree of `size` leaves; the first one of a size stays. */
  saveLogCheckpoint?(size: number, note: string): Promise<void>;
  /** The checkpoints kept, smallest tree first. */
  listLogCheckpoints?(): Promise<{ size: number; note: string }[]>;
  close(): Promise<void>;
}

/** A leaf as the leaf table files it. */
export interface LogIndexEntry {
  index: number;
  /** A record's context_id or an outcome's outcome_id (`out_…`). */
  id: string;
  /** The leaf hash stored when it was integrated (null when that node row is gone). */
  leafHash: Uint8Array | null;
}

/** One leaf of the transparency log as stored. */
export interface LogLeaf {
  index: number;
  contextId: string;
  /** The leaf hash stored when it was integrated. */
  leafHash: Uint8Array;
  /** The entry's leaf bytes now (TLOG-001 §1: a record's canonical text; an outcome's prefixed JSON), or null when no row has that id any more. */
  canonicalBytes: Uint8Array | null;
}

// ---------------------------------------------------------------- offline history

export interface FeatureValueRow {
  feature: string;
  entityId: string;
  /** Kind-preserving JSON text of the value. */
  valueJson: string;
  /** The value's event time: from when it holds (for values fabra computes, when it computed them). */
  computedAt: string;
  /** When fabra learned the value (default: computedAt); a backfill of last year's values is known today. */
  knownAt?: string;
  /** Materialization run that wrote it (an import's `import:<digest>:<line>`); null for values computed on read. */
  runId: string | null;
}

/** What an offline store can do beyond the common interface. */
export interface OfflineCapabilities extends StoreCapabilities {
  /** pointInTime() accepts `{ kind: "file" }` events (CSV/Parquet read by the store itself); otherwise the engine reads the file. */
  readsEventFiles: boolean;
}

/**
 * Events of a point-in-time join, as two parallel arrays: event i is (entityIds[i], timestamps[i]).
 * Timestamps are normal-form datetimes. Results come back in the same order.
 */
export interface PitEventKeys {
  kind: "keys";
  entityIds: string[];
  timestamps: string[];
}

/** Events in a CSV (with a header) or Parquet file; only for stores with capabilities.readsEventFiles. */
export interface PitEventFile {
  kind: "file";
  path: string;
  format: "csv" | "parquet";
  /** Column holding the entity id (read as text). */
  entityColumn: string;
  /** Column holding the event time: a timestamp, a date, or ISO-8601 text (no offset = UTC). */
  timestampColumn: string;
}

export interface PitFeature {
  name: string;
  /** Max age: a value computed more than this many ms before the event counts as missing (null). */
  maxAgeMs?: number;
  /** The feature's history is this user-managed table or view, joined where it is (not fabra's own history). */
  table?: HistoryTable;
}

/**
 * A user-managed table or view holding a feature's history (`history: { table, ... }` of a feature). Names are plain
 * identifiers (checked before they get here) that each store quotes; `table` is its name parts (schema-qualified:
 * two, or catalog.schema.table). Rows with a null entity or event time are not history; a null known time is the
 * event time. Ties on (event time, known time) go to the greatest value text (byte order).
 */
export interface HistoryTable {
  table: string[];
  entityColumn: string;
  timestampColumn: string;
  valueColumn: string;
  knownTimeColumn?: string;
}

export interface PitOptions {
  /** Also return when each joined value was computed. */
  includeComputedAt?: boolean;
  /** Join only values already known at the event's time (known_at <= T), so a late backfill does not leak. */
  knownTime?: boolean;
}

export interface PitResult {
  /**
   * File events only: every event's columns in file order. The timestamp column is given as a normal-form
   * datetime, whole numbers as numbers (bigint beyond 2^53), other timestamps as normal-form datetimes.
   */
  events?: Record<string, unknown>[];
  /** values[f][i]: the value JSON text of features[f] for event i, or null. */
  values: (string | null)[][];
  /** computedAt[f][i]: when that value was computed (normal form), or null; only with includeComputedAt. */
  computedAt?: (string | null)[][];
}

/** A history file the store reads and imports itself (OfflineStore.importFile). */
export interface ImportFilePlan {
  feature: string;
  path: string;
  format: "csv" | "parquet";
  /**
   * Given the file's column names: the columns to read, and the run id prefix (every row's run id is
   * `<runPrefix>:<line, zero-padded to 12 digits>`).
   */
  prepare(names: string[]): Promise<{ columns: ImportFileColumns; runPrefix: string }>;
  /** The known time of rows without a known-time column. */
  knownAt: string;
  batchSize: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ImportFileColumns {
  entityColumn: string;
  timestampColumn: string;
  valueColumn: string;
  knownTimeColumn?: string;
}

export interface ImportFileResult {
  rows: number;
  written: number;
  batches: number;
  failedBatches: number;
  /** Bad rows with their line (CSV: the header is line 1; Parquet: row n), in file order. */
  badRows: { line: number; error: string }[];
}

/** Who started a materialization run. */
export type RunTrigger = "manual" | "schedule";

/**
 * running: started and not finished (in progress, or its process died: the next run of the feature resumes it).
 * interrupted: stopped by an error or a shutdown before the end (resumed like a running one).
 * succeeded: every entity written. partial: finished, but some entities failed (the next run retries them).
 */
export type RunStatus = "running" | "interrupted" | "succeeded" | "partial";

export interface MaterializationRun {
  runId: string;
  feature: string;
  trigger: RunTrigger;
  status: RunStatus;
  startedAt: string;
  /** When it finished or was interrupted; null while running. */
  finishedAt: string | null;
  /** Entities written by this run (all attempts); set by endRun. */
  entitiesWritten: number;
  entitiesFailed: number;
  /** Why it was interrupted, or the first entity error of a partial run. */
  error: string | null;
  /**
   * The run's generation: 1 when begun, +1 each time it is resumed. The attempt that began or resumed it last is its
   * current owner; endRun with an older attempt (a stale worker) changes nothing.
   */
  attempt: number;
}

export interface RunOutcome {
  status: Exclude<RunStatus, "running">;
  /**
   * The fence: the attempt beginRun returned. When given, the run is ended only if it is still running as that
   * attempt; otherwise it is left as it is (another worker resumed or finished it) and returned as stored.
   */
  attempt?: number;
  entitiesWritten: number;
  entitiesFailed: number;
  error: string | null;
}

/**
 * Feature history. Point-in-time semantics every backend must give identically (the contract suite checks it):
 * for an event at T, a feature's value is the row with the greatest computed_at (event time) <= T (a value at
 * exactly T is visible at T; never one after T); among rows with the same computed_at, the greatest known_at, then
 * the greatest run_id (byte order; values computed on read sort as run id "read:<uuid>"); null when there is none,
 * or when maxAgeMs is set and computed_at < T - maxAgeMs. With `knownTime`, only rows with known_at <= T count.
 */
export interface OfflineStore extends Probed {
  readonly capabilities: OfflineCapabilities;
  /** Writes a batch in one transaction; a (feature, entity, run) already present is left as it is. */
  writeValues(rows: FeatureValueRow[]): Promise<void>;
  /** The latest value at or before `asOf` (default: now), or null when none existed yet. Same tie rule as pointInTime. */
  latest(feature: string, entityId: string, asOf?: string): Promise<FeatureValueRow | null>;
  /** Each event's value of each feature as of the event's time (see the semantics above). */
  pointInTime(events: PitEventKeys | PitEventFile, features: PitFeature[], options?: PitOptions): Promise<PitResult>;
  /**
   * Checks that a feature's history table exists with its columns (of usable types) and says what it found; a missing
   * table or column, or a column of the wrong type, is an INVALID_DEFINITION naming it, with a hint.
   */
  checkHistoryTable?(feature: string, table: HistoryTable): Promise<string>;
  /**
   * Backfill read by the store itself (DuckDB: the file goes into a staging table, is checked and moved into history
   * in SQL, never through JS rows). Absent: the engine reads the file and calls writeValues.
   */
  importFile?(plan: ImportFilePlan): Promise<ImportFileResult>;

  /**
   * Starts a materialization run of `feature`, or resumes its unfinished one (status running or interrupted) so a
   * re-run after a crash continues the same run id. A resumed run goes back to `running` (finishedAt null, error
   * null), keeps its startedAt and trigger, and gets the next `attempt`. Callers hold the feature's refresh lock, so at most one run of a
   * feature is unfinished at any time.
   */
  beginRun(feature: string, trigger: RunTrigger): Promise<{ run: MaterializationRun; resumed: boolean }>;
  /** Entity ids that already have a value in this run (skipped when a run is resumed). */
  writtenEntities(feature: string, runId: string): Promise<Set<string>>;
  /**
   * Records how a run ended (finishedAt = now); returns the run as stored. An unknown run id is NOT_FOUND. With
   * `outcome.attempt`, fenced: a run another attempt owns or has ended is returned unchanged.
   */
  endRun(runId: string, outcome: RunOutcome): Promise<MaterializationRun>;
  /** The newest run (greatest startedAt, then runId) of each feature, or of the named ones; by feature name (byte order). */
  latestRuns(features?: string[]): Promise<MaterializationRun[]>;

  /**
   * Entity ids from a user's SQL (`entities: { sql }` of a feature), run against this store's database: the first
   * column of every row, as text, in the query's order. A null id or a failing query is an INVALID_DEFINITION error.
   */
  queryEntityIds(sql: string): Promise<string[]>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- online cache

export interface OnlineValue {
  valueJson: string;
  /** When the value was computed. */
  asOf: string;
}

export interface FeatureKey {
  feature: string;
  entityId: string;
}

export interface OnlineStore extends Probed {
  readonly capabilities: StoreCapabilities;
  get(key: FeatureKey): Promise<OnlineValue | null>;
  /** Many keys in one round trip; results in the order of `keys`. */
  getMany(keys: FeatureKey[]): Promise<(OnlineValue | null)[]>;
  /** ttlMs undefined or 0 = no expiry. */
  set(key: FeatureKey, value: OnlineValue, ttlMs?: number): Promise<void>;
  setMany(entries: { key: FeatureKey; value: OnlineValue; ttlMs?: number }[]): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- vector index

export interface Chunk {
  chunkId: string;
  documentId: string;
  content: string;
  /** "sha256:<hex>" of the chunk content. */
  contentHash: string;
  sourceUrl: string | null;
  indexedAt: string;
  /** Tokens of the content in cl100k_base (the chunking tokenizer). */
  tokenCount: number;
  /**
   * Tokens of the content per encoding, counted at index time (cl100k_base is `tokenCount`); stores keep the
   * o200k_base count beside it (null/absent: not counted at index time).
   */
  tokenCounts?: { readonly cl100k_base?: number; readonly o200k_base?: number };
}

export interface ChunkWithEmbedding extends Chunk {
  embedding: Float32Array;
}

/** A document's chunks as `fabra index add` writes them: they replace whatever chunks the document had. */
export interface IndexedDocument {
  documentId: string;
  /**
   * What its chunks were made from (sha256 of the document's text with the chunking and embedder settings): a
   * document indexed again with the same hash is skipped.
   */
  documentHash: string;
  chunks: ChunkWithEmbedding[];
}

/** A document an index holds: its hash (null for chunks written without one, e.g. through `upsert`), source, chunks. */
export interface IndexedDocumentInfo {
  documentId: string;
  documentHash: string | null;
  /** Its chunks' source URL (a file:// URL for a file indexed by `fabra index add`), or null. */
  sourceUrl: string | null;
  chunks: number;
}

export interface VectorHit {
  chunk: Chunk;
  /** Cosine similarity in [-1, 1]. */
  similarity: number;
}

export interface VectorStore extends Probed {
  readonly capabilities: StoreCapabilities;
  /** Adds or replaces chunks (by chunkId) in an index; creates the index on first use. */
  upsert(index: string, chunks: ChunkWithEmbedding[]): Promise<void>;
  /** Top-k by cosine similarity, best first; hits below minSimilarity are left out. */
  search(index: string, embedding: Float32Array, topK: number, minSimilarity?: number): Promise<VectorHit[]>;
  /** Chunks by id (for replay: the same chunks the record saw). Missing ids are left out. */
  getChunks(index: string, chunkIds: string[]): Promise<Chunk[]>;
  /** Removes every chunk of a document (re-indexing a changed file). */
  deleteDocument(index: string, documentId: string): Promise<void>;
  /**
   * Bulk indexing: each document's chunks replace its old ones, all of the batch in one transaction (bulk writes:
   * DuckDB's appender, Postgres multi-row INSERT from arrays); creates the index on first use.
   */
  writeDocuments(index: string, documents: IndexedDocument[]): Promise<void>;
  /**
   * Optional: many writeDocuments calls follow (`index add`); the function returned ends that. Until then the store
   * may put off upkeep it would otherwise do as the writes go (DuckDB: the checkpoint a commit runs once the WAL
   * passes 16 MB). Every write stays durable and atomic as it is.
   */
  beginBulkLoad?(index: string): Promise<() => Promise<void>>;
  /** The documents an index holds, by id. An index that does not exist holds none. */
  listDocuments(index: string): Promise<IndexedDocumentInfo[]>;
  /** Removes these documents' chunks; returns how many chunks were removed. */
  deleteDocuments(index: string, documentIds: string[]): Promise<number>;
  /** Removes an index and all its chunks; returns how many chunks it held (0: there was no such index). */
  dropIndex(index: string): Promise<number>;
  /**
   * After bulk writes: builds what makes search fast that is too slow to keep up per write (the in-memory store's
   * HNSW graph for a large index). Says what it did, or null when there was nothing to do. Optional.
   */
  optimize?(index: string, onProgress?: (done: number, total: number) => void): Promise<string | null>;
  count(index: string): Promise<number>;
  listIndexes(): Promise<{ name: string; chunks: number; dimensions: number }[]>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- distributed locks

/** Who holds a lock (carried in the lock's value), so a refused caller can say who and until when. */
export interface LockHolder {
  pid: number;
  host: string;
  /** When it was taken (ISO). */
  acquiredAt: string;
  /** When it lapses unless extended (ISO), or null when unknown. */
  expiresAt: string | null;
}

export interface LockStore {
  /**
   * Takes the lock if free, or if its holder is a process on this host that is no longer alive (it died without
   * releasing it); returns the owner token, or null if someone else holds it.
   */
  acquire(key: string, ttlMs: number): Promise<string | null>;
  /** Who holds `key` now, or null when nobody does (or the holder cannot be told). */
  holder(key: string): Promise<LockHolder | null>;
  /** Extends a lock we still own; false if it expired or was taken. */
  extend(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases a lock only if `token` still owns it. */
  release(key: string, token: string): Promise<boolean>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- event queue (POST /v1/ingest/{event})

/** One entry of the event queue as a consumer gets it. */
export interface QueuedEvent {
  /** The queue's id of the entry: a Redis stream entry id (`<ms>-<seq>`; the in-process queue makes the same form). */
  entryId: string;
  /** The event type, i.e. the stream the entry is in. */
  eventType: string;
  /** The entry's `data` field as published (the event as JSON text), or null when it has none. */
  data: string | null;
  /** Deliveries so far, this one included: 1 the first time, more once a failed or dead consumer's entry is claimed. */
  deliveries: number;
}

/** An event set aside with the reason (malformed, or failed too often), until it is retried. */
export interface DeadLetter {
  /** Its id in the dead-letter list. */
  id: string;
  eventType: string;
  /** Its entry id in the event's stream. */
  entryId: string;
  data: string | null;
  reason: string;
  deliveries: number;
  failedAt: string;
}

export interface ConsumeOptions {
  /** Most entries handed out per call. */
  count: number;
  /** How long to wait for new entries when there are none (the call may return earlier, empty). */
  blockMs: number;
  /** Pending entries idle this long (their consumer died, or failed them) are claimed by this consumer. */
  claimIdleMs: number;
}

export interface EventBacklog {
  eventType: string;
  /** Entries no consumer has been handed yet. */
  waiting: number;
  /** Entries handed out and not yet acknowledged. */
  pending: number;
}

/**
 * The queue ingested events go through: Redis Streams in production (one stream per event type, one consumer group
 * shared by every `fabra serve` / `fabra worker`), an in-process queue with the same semantics in local mode. An
 * entry stays pending until it is acknowledged (after its recompute is durable) or dead-lettered; a pending entry
 * idle past `claimIdleMs` is claimed by the next consumer asking, with its delivery count raised.
 */
export interface EventQueue extends Probed {
  readonly capabilities: StoreCapabilities;
  /** Appends an event (bounded: the stream is trimmed to about its maximum length); returns its entry id. */
  publish(eventType: string, data: string): Promise<string>;
  /** The next entries for `consumer`: idle pending ones claimed first, then new ones (waiting up to blockMs). */
  consume(consumer: string, eventTypes: string[], options: ConsumeOptions): Promise<QueuedEvent[]>;
  /** Acknowledges an entry: it is done and never handed out again. */
  ack(entry: QueuedEvent): Promise<void>;
  /** Moves an entry to the dead-letter list with the reason and acknowledges it, in one step. */
  deadLetter(entry: QueuedEvent, reason: string): Promise<void>;
  /** The dead letters, oldest first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /** Puts dead letters (all, or those with these ids) back on their streams as new entries; returns how many. */
  retryDeadLetters(ids?: string[]): Promise<number>;
  /** Per event type: entries waiting and pending in the consumer group. */
  backlog(eventTypes: string[]): Promise<EventBacklog[]>;
  /**
   * A consumer stopping: removed from the group where it holds no pending entry (one that does stays, so its entries
   * are claimed by others, never dropped). Optional: a queue without named consumers has nothing to do.
   */
  leave?(consumer: string, eventTypes: string[]): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- the set, and what watches it

/** Which of the stores a call went to. */
export type StoreKind = "records" | "offline" | "online" | "vector" | "locks" | "events";

/** One finished store call, as instrument.ts reports it. */
export interface StoreOperation {
  store: StoreKind;
  /** The method called (append, get, latest, ...). */
  operation: string;
  seconds: number;
  /** What it resolved to (e.g. an append's outcome); absent when it failed. */
  result?: unknown;
  /** Why it failed, already mapped to a FabraError. */
  error?: { code: string; message: string };
}

export type StoreObserver = (operation: StoreOperation) => void;

/** The store set the engine runs on. */
export interface Stores {
  records: RecordStore;
  offline: OfflineStore;
  online: OnlineStore;
  vector: VectorStore;
  locks: LockStore;
  /** Ingested events on their way to the recompute they trigger (Redis Streams with Redis, else in-process). */
  events: EventQueue;
  /** Reports every call to any of the stores to `observer` (the server's metrics) until the returned function is called. */
  observe(observer: StoreObserver): () => void;
  close(): Promise<void>;
}
