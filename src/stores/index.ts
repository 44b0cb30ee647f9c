// The store registry: maps each configured backend to its module, imported lazily so `pg` and `ioredis` load
// only when configured. The engine never imports a backend; it gets a `Stores` from here.
import type { OfflineConfig, OnlineConfig, ResolvedConfig, VectorConfig } from "../config/resolve.js";
import type { PgTarget } from "./postgres/pool.js";
import type { RedisTarget } from "./redis/client.js";
import type { LockStore, OfflineStore, OnlineStore, RecordStore, Stores, VectorStore } from "./types.js";

export interface StoreOptions {
  /** Embedding size of the configured embedder (the vector store checks every vector against it). */
  dimensions: number;
}

export async function openRecordStore(config: Pick<ResolvedConfig, "stores">): Promise<RecordStore> {
  const offline = config.stores.offline;
  switch (offline.type) {
    case "duckdb":
      return (await import("./duckdb/records.js")).open(offline.path);
    case "postgres":
      return (await import("./postgres/records.js")).open(offlineTarget(offline));
  }
}

/** The ledger through a running `fabra serve` that holds the local DuckDB file (see src/remote/state-file.ts). */
export async function openRemoteRecordStore(url: string, token: string): Promise<RecordStore> {
  return (await import("./remote/records.js")).open(url, token);
}

export async function openOfflineStore(offline: OfflineConfig): Promise<OfflineStore> {
  switch (offline.type) {
    case "duckdb":
      return (await import("./duckdb/offline.js")).open(offline.path);
    case "postgres":
      return (await import("./postgres/offline.js")).open(offlineTarget(offline));
  }
}

export async function openOnlineStore(online: OnlineConfig): Promise<OnlineStore> {
  switch (online.type) {
    case "memory":
      return (await import("./memory/online.js")).open();
    case "redis":
      return (await import("./redis/online.js")).open(redisTarget(online), online.keyPrefix);
  }
}

export async function openVectorStore(vector: VectorConfig, offline: OfflineConfig, options: StoreOptions): Promise<VectorStore> {
  switch (vector.type) {
    case "memory": {
      // In local mode the in-memory index keeps its chunks in the DuckDB file, so they outlive the process.
      const persistence = offline.type === "duckdb" ? await (await import("./duckdb/vector-chunks.js")).DuckDBChunkPersistence.open(offline.path) : null;
      return (await import("./memory/vector.js")).open(options.dimensions, persistence);
    }
    case "pgvector":
      return (await import("./postgres/vector.js")).open(vectorTarget(vector), options.dimensions);
  }
}

export async function openLockStore(online: OnlineConfig): Promise<LockStore> {
  switch (online.type) {
    case "memory":
      return (await import("./memory/locks.js")).open();
    case "redis":
      return (await import("./redis/locks.js")).open(redisTarget(online), online.keyPrefix);
  }
}

/** Where the Postgres ledger and offline history connect (errors name `stores.offline`). */
export function offlineTarget(offline: Extract<OfflineConfig, { type: "postgres" }>): PgTarget {
  return { url: offline.url, schema: offline.schema, poolSize: offline.poolSize, service: "stores.offline" };
}

export function vectorTarget(vector: Extract<VectorConfig, { type: "pgvector" }>): PgTarget {
  return { url: vector.url, schema: vector.schema, service: "stores.vector" };
}

export function redisTarget(online: Extract<OnlineConfig, { type: "redis" }>): RedisTarget {
  return { url: online.url, timeoutMs: online.timeoutMs, service: "stores.online" };
}

/** Opens every store the config names; if one fails, those already open are closed again. */
export async function createStores(config: Pick<ResolvedConfig, "stores">, options: StoreOptions): Promise<Stores> {
  const { offline: offlineConfig, online: onlineConfig, vector: vectorConfig } = config.stores;
  const { value, close } = await openAllOrNone(async (track) => ({
    records: await track(openRecordStore(config)),
    offline: await track(openOfflineStore(offlineConfig)),
    online: await track(openOnlineStore(onlineConfig)),
    vector: await track(openVectorStore(vectorConfig, offlineConfig, options)),
    locks: await track(openLockStore(onlineConfig)),
  }));
  return { ...value, close };
}

type Closable = { close(): Promise<void> };

/**
 * Runs `open`, which opens stores through `track`. If it throws, the stores already open are closed (newest first)
 * and its error is thrown: a store failing to close then never replaces the failure that matters. Otherwise
 * returns its value with a `close` for every tracked store.
 */
export async function openAllOrNone<T>(open: (track: <S extends Closable>(store: Promise<S>) => Promise<S>) => Promise<T>): Promise<{ value: T; close: () => Promise<void> }> {
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
