// Distributed locks on Redis for the refresh scheduler: `SET key token NX PX ttl` to take one; release and
// extend only by the owner, each a Lua script that compares the token and deletes / re-expires atomically.
import { randomUUID } from "node:crypto";
import { closeRedis, mapRedisError, openRedis, type RedisConnection, type RedisTarget } from "./client.js";
import type { LockStore } from "../types.js";

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

export class RedisLockStore implements LockStore {
  private constructor(
    private readonly conn: RedisConnection,
    readonly keyPrefix: string,
  ) {}

  static async open(target: RedisTarget, keyPrefix: string): Promise<RedisLockStore> {
    return new RedisLockStore(await openRedis(target), keyPrefix);
  }

  key(name: string): string {
    return `${this.keyPrefix}lock:${name}`;
  }

  async acquire(key: string, ttlMs: number): Promise<string | null> {
    const token = randomUUID();
    const ok = await this.call(() => this.conn.client.set(this.key(key), token, "PX", positiveMs(ttlMs), "NX"));
    return ok === "OK" ? token : null;
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.call(() => this.conn.client.eval(EXTEND, 1, this.key(key), token, String(positiveMs(ttlMs))))) === 1
    );
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await this.call(() => this.conn.client.eval(RELEASE, 1, this.key(key), token))) === 1;
  }

  close(): Promise<void> {
    return closeRedis(this.conn);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapRedisError(err, this.conn.target);
    }
  }
}

function positiveMs(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

export function open(target: RedisTarget, keyPrefix: string): Promise<RedisLockStore> {
  return RedisLockStore.open(target, keyPrefix);
}
