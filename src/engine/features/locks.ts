// Running work under a LockStore lock: acquire with a TTL, extend it while the work runs, release it (by owner)
// afterwards. If the lock is lost (an extend fails), the work's AbortSignal fires so it stops at the next batch.
// The same code is local exclusion on the memory lock store and distributed exclusion on Redis.
import type { LockHolder, LockStore } from "../../stores/types.js";

export interface LockOptions {
  /** How long the lock lives without an extend (default 30s); it is extended every ttl/3. */
  ttlMs?: number;
  /** Reports a failed extend or release (the work itself is not failed by them). */
  warn?: (message: string) => void;
}

export const DEFAULT_LOCK_TTL_MS = 30_000;

/** The lock key of a feature's refresh: shared by `fabra materialize`, the scheduler and every worker. */
export const refreshLockKey = (feature: string) => `refresh:${feature}`;

/** "PID 123 on host h since T, until T2 unless extended", for a refused caller. */
export function describeHolder(holder: LockHolder | null): string {
  if (!holder) return "its refresh lock is held";
  const until = holder.expiresAt ? `, until ${holder.expiresAt} unless it is extended` : "";
  return `its refresh lock is held by PID ${holder.pid} on host ${holder.host} since ${holder.acquiredAt}${until}`;
}

/**
 * Runs `fn` holding `key`. Returns `{ acquired: false }` without running it when someone else holds the lock.
 * `signal` aborts when the lock is lost or `outer` aborts.
 */
export async function withLock<T>(
  locks: LockStore,
  key: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: LockOptions & { signal?: AbortSignal } = {},
): Promise<{ acquired: true; result: T } | { acquired: false; holder: LockHolder | null }> {
  const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  const token = await locks.acquire(key, ttlMs);
  if (token === null) return { acquired: false, holder: await locks.holder(key).catch(() => null) };
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();
  let extending = false;
  const timer = setInterval(
    () => {
      if (extending) return;
      extending = true;
      locks
        .extend(key, token, ttlMs)
        .then((held) => {
          if (!held) {
            options.warn?.(`lost the lock ${key}; stopping after the current batch`);
            controller.abort(new Error(`lost the lock ${key}`));
          }
        })
        .catch((err: unknown) => {
          // Unconfirmed is as good as lost: another worker may take the lock once it expires.
          options.warn?.(
            `could not extend the lock ${key} (${(err as Error).message}); stopping after the current batch`,
          );
          controller.abort(err);
        })
        .finally(() => {
          extending = false;
        });
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  timer.unref?.();
  try {
    return { acquired: true, result: await fn(controller.signal) };
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
    await locks
      .release(key, token)
      .catch((err: unknown) => options.warn?.(`could not release the lock ${key}: ${(err as Error).message}`));
  }
}
