// Distributed locks on Redis for the refresh scheduler: `SET key token NX PX ttl` to take one; release and
// extend only by the owner, each a Lua script that compares the token and deletes / re-expires atomically. The
// token is JSON naming its holder (pid, host, when taken), so a refused caller can say who holds the lock and until
// when, and a lock whose holder is a dead process on this host is taken over at once (compare-and-set) instead of
// blocking everyone until its TTL runs out.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { closeRedis, mapRedisError, openRedis, type RedisConnection, type RedisTarget } from "./client.js";
import type { LockHolder, LockStore } from "../types.js";

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
/** Replaces the value only if it is still the dead holder's: two processes taking over at once cannot both win. */
const TAKE_OVER = `if redis.call("get", KEYS[1]) == ARGV[1] then redis.call("set", KEYS[1], ARGV[2], "PX", ARGV[3]) return 1 else return 0 end`;

interface TokenHolder {
  id: string;
  pid: number;
  host: string;
  at: string;
}

/** The holder a token names, or null for a token of another format (an older fabra: a bare UUID). */
export function parseLockToken(token: string): TokenHolder | null {
  try {
    const v = JSON.parse(token) as Partial<TokenHolder>;
    if (typeof v.pid === "number" && typeof v.host === "string" && typeof v.at === "string" && typeof v.id === "string")
      return v as TokenHolder;
  } catch {
    // not ours
  }
  return null;
}

/** Whether a process of this host is alive (EPERM: alive, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

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
    const token = JSON.stringify({
      id: randomUUID(),
      pid: process.pid,
      host: hostname(),
      at: new Date().toISOString(),
    });
    const ok = await this.call(() => this.conn.client.set(this.key(key), token, "PX", positiveMs(ttlMs), "NX"));
    if (ok === "OK") return token;
    // Held: by a process of this host that has died (killed before it could release)? Then it is ours now.
    const current = await this.call(() => this.conn.client.get(this.key(key)));
    const holder = current === null ? null : parseLockToken(current);
    if (current === null || !holder || holder.host !== hostname() || holder.pid === process.pid) return null;
    if (processAlive(holder.pid)) return null;
    const taken = await this.call(() =>
      this.conn.client.eval(TAKE_OVER, 1, this.key(key), current, token, String(positiveMs(ttlMs))),
    );
    return taken === 1 ? token : null;
  }

  async holder(key: string): Promise<LockHolder | null> {
    const [value, pttl] = await this.call(() =>
      Promise.all([this.conn.client.get(this.key(key)), this.conn.client.pttl(this.key(key))]),
    );
    if (value === null) return null;
    const holder = parseLockToken(value);
    if (!holder) return null;
    return {
      pid: holder.pid,
      host: holder.host,
      acquiredAt: holder.at,
      expiresAt: pttl > 0 ? new Date(Date.now() + pttl).toISOString() : null,
    };
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
