// In-process locks for local mode (one process runs the scheduler). Same contract as the Redis locks:
// owner tokens, expiry, release and extend only by the owner; the holder is always this process.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { LockHolder, LockStore } from "../types.js";

export class MemoryLockStore implements LockStore {
  private readonly locks = new Map<string, { token: string; expiresAt: number; acquiredAt: number }>();

  async acquire(key: string, ttlMs: number): Promise<string | null> {
    const held = this.locks.get(key);
    if (held && held.expiresAt > Date.now()) return null;
    const token = randomUUID();
    this.locks.set(key, { token, expiresAt: Date.now() + ttlMs, acquiredAt: Date.now() });
    return token;
  }

  async holder(key: string): Promise<LockHolder | null> {
    const held = this.locks.get(key);
    if (!held || held.expiresAt <= Date.now()) return null;
    return {
      pid: process.pid,
      host: hostname(),
      acquiredAt: new Date(held.acquiredAt).toISOString(),
      expiresAt: new Date(held.expiresAt).toISOString(),
    };
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    const held = this.locks.get(key);
    if (!held || held.token !== token || held.expiresAt <= Date.now()) return false;
    held.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async release(key: string, token: string): Promise<boolean> {
    const held = this.locks.get(key);
    if (!held || held.token !== token) return false;
    this.locks.delete(key);
    return held.expiresAt > Date.now();
  }

  async close(): Promise<void> {
    this.locks.clear();
  }
}

export function open(): MemoryLockStore {
  return new MemoryLockStore();
}
