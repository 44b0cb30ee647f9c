// The production online cache: Redis only, no in-process layer, so every process sees the same value (the seed's
// coherence argument). A value is stored as "<as_of>|<kind-preserving JSON>", with the feature's TTL as PX; many
// keys are read with one MGET and written with one pipeline. While Redis is away every call fails at once with
// STORE_UNAVAILABLE; the engine then computes the value and records the read as `source: "fallback"`.
import { FabraError } from "../../errors.js";
import { normalizeDatetime } from "../../record/datetime.js";
import { closeRedis, mapRedisError, openRedis, type RedisConnection, type RedisTarget } from "./client.js";
import type { FeatureKey, OnlineStore, OnlineValue, StoreCheck } from "../types.js";
import { probeRedis } from "./probe.js";

/** Counts kept for degraded-mode reporting (`fabra doctor`, metrics). */
export interface OnlineStats {
  reads: number;
  hits: number;
  failures: number;
}

export class RedisOnlineStore implements OnlineStore {
  readonly capabilities = { concurrentWriters: true, persistent: true, sharedAcrossProcesses: true };
  readonly stats: OnlineStats = { reads: 0, hits: 0, failures: 0 };

  private constructor(
    readonly conn: RedisConnection,
    readonly keyPrefix: string,
  ) {}

  static async open(target: RedisTarget, keyPrefix: string): Promise<RedisOnlineStore> {
    return new RedisOnlineStore(await openRedis(target), keyPrefix);
  }

  /** The server's version and a SET/GET/DEL round trip under the key prefix. */
  probe(): Promise<StoreCheck[]> {
    return probeRedis(this.conn, this.keyPrefix);
  }

  /** The Redis key of a feature value (the feature name is URI-encoded, so it never contains the ":" separator). */
  key(k: FeatureKey): string {
    return `${this.keyPrefix}feat:${encodeURIComponent(k.feature)}:${k.entityId}`;
  }

  async get(key: FeatureKey): Promise<OnlineValue | null> {
    const raw = await this.call(() => this.conn.client.get(this.key(key)));
    return this.decode(raw, key);
  }

  async getMany(keys: FeatureKey[]): Promise<(OnlineValue | null)[]> {
    if (keys.length === 0) return [];
    const raws = await this.call(() => this.conn.client.mget(keys.map((k) => this.key(k))), keys.length);
    return raws.map((raw, i) => this.decode(raw, keys[i] as FeatureKey));
  }

  async set(key: FeatureKey, value: OnlineValue, ttlMs?: number): Promise<void> {
    await this.setMany([{ key, value, ttlMs }]);
  }

  async setMany(entries: { key: FeatureKey; value: OnlineValue; ttlMs?: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.conn.client.pipeline();
    for (const e of entries) {
      const text = `${e.value.asOf}|${e.value.valueJson}`;
      if (e.ttlMs !== undefined && e.ttlMs > 0) pipeline.set(this.key(e.key), text, "PX", Math.ceil(e.ttlMs));
      else pipeline.set(this.key(e.key), text);
    }
    const results = await this.call(() => pipeline.exec(), 0);
    const failed = results?.find(([err]) => err !== null);
    if (!results || failed)
      throw mapRedisError(failed?.[0] ?? new Error("the pipeline was not executed"), this.conn.target);
  }

  close(): Promise<void> {
    return closeRedis(this.conn);
  }

  private async call<T>(fn: () => Promise<T>, reads = 1): Promise<T> {
    this.stats.reads += reads;
    try {
      return await fn();
    } catch (err) {
      this.stats.failures++;
      throw mapRedisError(err, this.conn.target);
    }
  }

  private decode(raw: string | null, key: FeatureKey): OnlineValue | null {
    if (raw === null) return null;
    const bar = raw.indexOf("|");
    try {
      if (bar < 0) throw new Error("no separator");
      const value = { asOf: normalizeDatetime(raw.slice(0, bar)), valueJson: raw.slice(bar + 1) };
      this.stats.hits++;
      return value;
    } catch {
      // Not written by fabra (or by an incompatible version): never served as a value.
      throw new FabraError(
        "STORE_UNAVAILABLE",
        `stores.online: the Redis key ${this.key(key)} does not hold a fabra value`,
        {
          hint: `Another program writes under the key prefix "${this.keyPrefix}"; give fabra its own stores.online.keyPrefix.`,
        },
      );
    }
  }
}

export function open(target: RedisTarget, keyPrefix: string): Promise<RedisOnlineStore> {
  return RedisOnlineStore.open(target, keyPrefix);
}
