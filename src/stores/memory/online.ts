// The in-process online cache for local mode: a Map with per-entry expiry. Production uses Redis (one cache
// every process sees); this one lives and dies with the process.
import type { FeatureKey, OnlineStore, OnlineValue, StoreCheck } from "../types.js";

const keyOf = (k: FeatureKey) => `${k.feature}\u0000${k.entityId}`;

export class MemoryOnlineStore implements OnlineStore {
  readonly capabilities = { concurrentWriters: false, persistent: false, sharedAcrossProcesses: false };
  private readonly entries = new Map<string, { value: OnlineValue; expiresAt: number }>();

  async get(key: FeatureKey): Promise<OnlineValue | null> {
    return this.read(keyOf(key));
  }

  async getMany(keys: FeatureKey[]): Promise<(OnlineValue | null)[]> {
    return keys.map((k) => this.read(keyOf(k)));
  }

  async set(key: FeatureKey, value: OnlineValue, ttlMs?: number): Promise<void> {
    this.entries.set(keyOf(key), { value, expiresAt: ttlMs ? Date.now() + ttlMs : Infinity });
  }

  async setMany(entries: { key: FeatureKey; value: OnlineValue; ttlMs?: number }[]): Promise<void> {
    for (const e of entries) await this.set(e.key, e.value, e.ttlMs);
  }

  async probe(): Promise<StoreCheck[]> {
    return [
      { name: "stores.online", state: "ok", detail: "memory: in-process cache (one process; use redis for several)" },
    ];
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private read(key: string): OnlineValue | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }
}

export function open(): MemoryOnlineStore {
  return new MemoryOnlineStore();
}
