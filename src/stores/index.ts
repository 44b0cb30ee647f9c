// The store registry: maps each configured backend to its module, imported lazily so `pg` and `ioredis` load
// only when configured, and wraps every store it opens in instrument.ts. The engine never imports a backend; it gets
// a `Stores` from here.
import type { OfflineConfig, OnlineConfig, ResolvedConfig, VectorConfig } from "../config/resolve.js";
import { maskUrl } from "../util/mask-url.js";
import { failedCheck } from "./check.js";
import { instrument } from "./instrument.js";
import type { MigrateReport } from "./postgres/migrate-target.js";
import type { PgTarget } from "./postgres/pool.js";
import type { RedisTarget } from "./redis/client.js";
import type {
  EventQueue,
  LockStore,
  OfflineStore,
  OnlineStore,
  Probed,
  RecordStore,
  StoreCheck,
  StoreObserver,
  Stores,
  VectorStore,
} from "./types.js";

export type { MigrateReport };

export interface StoreOptions {
  /** Embedding size of the configured embedder (the vector store checks every vector against it). */
  dimensions: number;
}

/** Each store opened alone (the ledger for ledger-only commands, ...) is instrumented like those of createStores. */
const unobserved: ReadonlySet<StoreObserver> = new Set();

export async function openRecordStore(config: Pick<ResolvedConfig, "stores">): Promise<RecordStore> {
  return instrument(await recordBackend(config.stores.offline), "records", unobserved);
}

export async function openOfflineStore(offline: OfflineConfig): Promise<OfflineStore> {
  return instrument(await offlineBackend(offline), "offline", unobserved);
}

export async function openOnlineStore(online: OnlineConfig): Promise<OnlineStore> {
  return instrument(await onlineBackend(online), "online", unobserved);
}

export async function openVectorStore(
  vector: VectorConfig,
  offline: OfflineConfig,
  options: StoreOptions,
): Promise<VectorStore> {
  return instrument(await vectorBackend(vector, offline, options), "vector", unobserved);
}

export async function openLockStore(online: OnlineConfig): Promise<LockStore> {
  return instrument(await lockBackend(online), "locks", unobserved);
}

/** The event queue beside the online store: Redis Streams under its key prefix, or in-process with the memory cache. */
export async function openEventQueue(online: OnlineConfig): Promise<EventQueue> {
  return instrument(await eventBackend(online), "events", unobserved);
}

async function recordBackend(offline: OfflineConfig): Promise<RecordStore> {
  switch (offline.type) {
    case "duckdb":
      return (await import("./duckdb/records.js")).open(offline.path);
    case "postgres":
      return (await import("./postgres/records.js")).open(offlineTarget(offline));
  }
}

/** The ledger through a running `fabra serve` that holds the local DuckDB file (see src/remote/state-file.ts). */
export async function openRemoteRecordStore(url: string, token: string): Promise<RecordStore> {
  return instrument(await (await import("./remote/records.js")).open(url, token), "records", unobserved);
}

/** The read-only ledger of a fabra server named by `--url` / FABRA_URL, through its public routes and API key. */
export async function openPublicRecordStore(url: string, apiKey: string): Promise<RecordStore> {
  return instrument(await (await import("./remote/public-records.js")).open(url, apiKey), "records", unobserved);
}

async function offlineBackend(offline: OfflineConfig): Promise<OfflineStore> {
  switch (offline.type) {
    case "duckdb":
      return (await import("./duckdb/offline.js")).open(offline.path);
    case "postgres":
      return (await import("./postgres/offline.js")).open(offlineTarget(offline));
  }
}

async function onlineBackend(online: OnlineConfig): Promise<OnlineStore> {
  switch (online.type) {
    case "memory":
      return (await import("./memory/online.js")).open();
    case "redis":
      return (await import("./redis/online.js")).open(redisTarget(online), online.keyPrefix);
  }
}

async function vectorBackend(
  vector: VectorConfig,
  offline: OfflineConfig,
  options: StoreOptions,
): Promise<VectorStore> {
  switch (vector.type) {
    case "memory": {
      // In local mode the in-memory index keeps its chunks in the DuckDB file, so they outlive the process; large
      // indexes get an HNSW graph (hnswlib-node, optional) saved beside it. Without hnswlib-node: exact search.
      const persistent = offline.type === "duckdb" && offline.path !== ":memory:";
      const persistence =
        offline.type === "duckdb"
          ? await (await import("./duckdb/vector-chunks.js")).DuckDBChunkPersistence.open(offline.path)
          : null;
      let approximate = null;
      let missing = null;
      if (vector.annMinChunks !== null) {
        const { openAnn } = await import("./memory/ann.js");
        const opened = openAnn(persistent ? `${offline.path}.ann` : null, vector.annMinChunks);
        approximate = opened.ann;
        missing = opened.ann === null ? `hnswlib-node failed to load: ${opened.reason}` : null;
      }
      return (await import("./memory/vector.js")).open(options.dimensions, persistence, approximate, missing);
    }
    case "pgvector":
      return (await import("./postgres/vector.js")).open(vectorTarget(vector), options.dimensions);
  }
}

async function lockBackend(online: OnlineConfig): Promise<LockStore> {
  switch (online.type) {
    case "memory":
      return (await import("./memory/locks.js")).open();
    case "redis":
      return (await import("./redis/locks.js")).open(redisTarget(online), online.keyPrefix);
  }
}

async function eventBackend(online: OnlineConfig): Promise<EventQueue> {
  switch (online.type) {
    case "memory":
      return (await import("./memory/events.js")).open();
    case "redis":
      return (await import("./redis/events.js")).open(redisTarget(online), online.keyPrefix);
  }
}

/** Where the Postgres ledger and offline history connect (errors name `stores.offline`). */
export function offlineTarget(offline: Extract<OfflineConfig, { type: "postgres" }>): PgTarget {
  return {
    url: offline.url,
    schema: offline.schema,
    poolSize: offline.poolSize,
    statementTimeoutMs: offline.statementTimeoutMs,
    service: "stores.offline",
  };
}

export function vectorTarget(vector: Extract<VectorConfig, { type: "pgvector" }>): PgTarget {
  return { url: vector.url, schema: vector.schema, service: "stores.vector" };
}

export function redisTarget(online: Extract<OnlineConfig, { type: "redis" }>): RedisTarget {
  return { url: online.url, timeoutMs: online.timeoutMs, service: "stores.online" };
}

/**
 * Opens every store the config names, each instrumented, with one set of observers for all; if one fails to open,
 * those already open are closed again.
 */
export async function createStores(config: Pick<ResolvedConfig, "stores">, options: StoreOptions): Promise<Stores> {
  const { offline: offlineConfig, online: onlineConfig, vector: vectorConfig } = config.stores;
  const observers = new Set<StoreObserver>();
  const { value, close } = await openAllOrNone(async (track) => ({
    records: instrument(await track(recordBackend(offlineConfig)), "records", observers),
    offline: instrument(await track(offlineBackend(offlineConfig)), "offline", observers),
    online: instrument(await track(onlineBackend(onlineConfig)), "online", observers),
    vector: instrument(await track(vectorBackend(vectorConfig, offlineConfig, options)), "vector", observers),
    locks: instrument(await track(lockBackend(onlineConfig)), "locks", observers),
    events: instrument(await track(eventBackend(onlineConfig)), "events", observers),
  }));
  const observe = (observer: StoreObserver) => {
    const own = (operation: Parameters<StoreObserver>[0]) => observer(operation);
    observers.add(own);
    return () => void observers.delete(own);
  };
  return { ...value, observe, close };
}

type Closable = { close(): Promise<void> };

/**
 * Runs `open`, which opens stores through `track`. If it throws, the stores already open are closed (newest first)
 * and its error is thrown: a store failing to close then never replaces the failure that matters. Otherwise
 * returns its value with a `close` for every tracked store.
 */
export async function openAllOrNone<T>(
  open: (track: <S extends Closable>(store: Promise<S>) => Promise<S>) => Promise<T>,
): Promise<{ value: T; close: () => Promise<void> }> {
  const opened: Closable[] = [];
  const track = async <S extends Closable>(p: Promise<S>): Promise<S> => {
    const store = await p;
    opened.push(store);
    return store;
  };
  try {
    return { value: await open(track), close: () => closeAll(opened) };
  } catch (err) {
    await closeAll(opened).catch(() => undefined);
    throw err;
  }
}

async function closeAll(stores: Closable[]): Promise<void> {
  const results = await Promise.allSettled([...stores].reverse().map((s) => s.close()));
  stores.length = 0;
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

// ---------------------------------------------------------------- what the rest of fabra asks of the configured stores

/** The file an embedded store holds locked while it is open (one process at a time), or null (a server, or in memory). */
export function embeddedFile(stores: ResolvedConfig["stores"]): string | null {
  const offline = stores.offline;
  return offline.type === "duckdb" && offline.path !== ":memory:" ? offline.path : null;
}

/** One line per store for banners and logs: the backend and where it is (passwords masked). */
export function describeStores(stores: ResolvedConfig["stores"]): { offline: string; online: string; vector: string } {
  const { offline, online, vector } = stores;
  return {
    offline:
      offline.type === "duckdb"
        ? `duckdb ${offline.path}`
        : `postgres ${maskUrl(offline.url)}, schema "${offline.schema}"`,
    online:
      online.type === "memory"
        ? "memory (this process only)"
        : `redis ${maskUrl(online.url)}, key prefix "${online.keyPrefix}"`,
    vector:
      vector.type === "memory"
        ? vector.annMinChunks === null
          ? "memory (exact search)"
          : "memory (exact search; HNSW for large indexes)"
        : `pgvector ${maskUrl(vector.url)}, schema "${vector.schema}"`,
  };
}

/** The databases `fabra migrate` works on: each distinct Postgres target once, with whether the vector store is in it. */
export function migrationTargets(stores: ResolvedConfig["stores"]): { target: PgTarget; vector: boolean }[] {
  const { offline, vector } = stores;
  const targets: { target: PgTarget; vector: boolean }[] = [];
  if (offline.type === "postgres") targets.push({ target: offlineTarget(offline), vector: false });
  if (vector.type === "pgvector") {
    const same = targets.find((t) => t.target.url === vector.url && t.target.schema === vector.schema);
    if (same) same.vector = true;
    else targets.push({ target: vectorTarget(vector), vector: true });
  }
  return targets;
}

/** Applies the migrations to every migration target, one after another (none: local mode, nothing to do). */
export async function migrateStores(stores: ResolvedConfig["stores"]): Promise<MigrateReport[]> {
  const targets = migrationTargets(stores);
  if (targets.length === 0) return [];
  const { migrateTarget } = await import("./postgres/migrate-target.js");
  const reports: MigrateReport[] = [];
  for (const t of targets) reports.push(await migrateTarget(t.target, { vector: t.vector }));
  return reports;
}

/**
 * Every configured store checked for `fabra doctor`: each database first (reachable, version, migrations; a store
 * on a database that is not current is not opened), then each store opened on its own and probed, so one that
 * fails does not hide the others. Nothing is left written.
 */
export async function probeStores(
  config: Pick<ResolvedConfig, "stores">,
  options: StoreOptions,
): Promise<StoreCheck[]> {
  const { offline, online, vector } = config.stores;
  const checks: StoreCheck[] = [];
  const current = new Map<string, boolean>();
  const databases = migrationTargets(config.stores);
  if (databases.length > 0) {
    const { probeDatabase } = await import("./postgres/probe.js");
    for (const { target } of databases) {
      const database = await probeDatabase(target);
      checks.push(...database.checks);
      current.set(target.service, database.current);
    }
  }
  /** Whether a store's database (if it has one) answered and is at the current migration; vector in offline's when shared. */
  const usable = (service: string) => current.get(service) ?? current.get("stores.offline") ?? true;
  // Closed together at the end, so stores sharing an embedded file open it once.
  const opened: { close(): Promise<void> }[] = [];
  const probe = async (label: string, open: () => Promise<Probed & { close(): Promise<void> }>) => {
    try {
      const store = await open();
      opened.push(store);
      checks.push(...(await store.probe()));
    } catch (err) {
      checks.push(failedCheck(label, err));
    }
  };
  const title = {
    duckdb: "DuckDB",
    postgres: "Postgres",
    redis: "Redis",
    pgvector: "Postgres",
    memory: "memory",
  } as const;
  try {
    if (usable("stores.offline")) {
      await probe(`stores.offline (${title[offline.type]})`, () => openRecordStore(config));
      await probe(`stores.offline (${title[offline.type]})`, () => openOfflineStore(offline));
    }
    await probe(`stores.online (${title[online.type]})`, () => openOnlineStore(online));
    // The event streams beside the cache (Redis 6.2+ for XAUTOCLAIM); the in-process queue needs no check.
    if (online.type === "redis") await probe("stores.online (Redis Streams)", () => openEventQueue(online));
    if (vector.type === "memory" || usable("stores.vector"))
      await probe(`stores.vector (${title[vector.type]})`, () => openVectorStore(vector, offline, options));
  } finally {
    for (const store of opened.reverse()) await store.close().catch(() => undefined);
  }
  return checks;
}
