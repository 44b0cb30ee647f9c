// Redis plumbing shared by the Redis backends: connect once and check before any work starts, fail fast while
// Redis is away (no offline queue, no per-command retries, a short connect/command timeout; reconnecting goes on
// in the background), and driver errors mapped to FabraErrors naming the service and the URL (password masked).
import { Redis } from "ioredis";
import { FabraError } from "../../errors.js";
import { maskUrl } from "../../util/mask-url.js";

export interface RedisTarget {
  url: string;
  /** Connect and command timeout. */
  timeoutMs: number;
  /** e.g. "stores.online": named in every error. */
  service: string;
}

/** Connection health of one client, for counting degraded reads and for `fabra doctor`. */
export interface RedisStats {
  /** Errors the connection reported (refused, reset, timed out...). */
  connectionErrors: number;
  lastError: string | null;
}

export interface RedisConnection {
  client: Redis;
  stats: RedisStats;
  target: RedisTarget;
}

/** Opens a client and waits until Redis answers; STORE_UNAVAILABLE (with the reason) if it does not. */
export async function openRedis(target: RedisTarget): Promise<RedisConnection> {
  const client = new Redis(target.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: target.timeoutMs,
    commandTimeout: target.timeoutMs,
    // After a drop, keep reconnecting in the background (commands fail at once meanwhile).
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    connectionName: "fabra",
  });
  const stats: RedisStats = { connectionErrors: 0, lastError: null };
  let firstError: unknown = null;
  client.on("error", (err: Error) => {
    firstError ??= err;
    stats.connectionErrors++;
    stats.lastError = err.message;
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw mapRedisError(firstError ?? err, target);
  }
  return { client, stats, target };
}

export async function closeRedis(conn: RedisConnection): Promise<void> {
  if (conn.client.status === "ready") {
    await conn.client.quit().catch(() => conn.client.disconnect());
  } else {
    conn.client.disconnect();
  }
}

/** `redis_version` of the server (e.g. "7.0.15"). */
export async function redisVersion(conn: RedisConnection): Promise<string> {
  try {
    const info = await conn.client.info("server");
    return /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
  } catch (err) {
    throw mapRedisError(err, conn.target);
  }
}

/** Driver errors → FabraErrors that say which service, where (masked) and what to do. */
export function mapRedisError(err: unknown, target: RedisTarget): FabraError {
  if (err instanceof FabraError) return err;
  const code = String((err as { code?: unknown } | null)?.code ?? "");
  const message = err instanceof Error ? err.message : String(err);
  const where = `${target.service}: Redis at ${maskUrl(target.url)}`;
  const fixUrl = `Check the URL (FABRA_REDIS_URL or ${target.service}.url); \`fabra doctor\` checks every store.`;
  const details = { service: target.service, url: maskUrl(target.url), code };
  if (code === "ECONNREFUSED")
    return new FabraError("STORE_UNAVAILABLE", `${where} refused the connection (is it running?)`, {
      hint: `Start Redis, or fix the host/port. ${fixUrl}`,
      cause: err,
      details,
    });
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return new FabraError("STORE_UNAVAILABLE", `${where} is unknown: the host name does not resolve`, {
      hint: fixUrl,
      cause: err,
      details,
    });
  if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(message)) {
    return new FabraError("STORE_UNAVAILABLE", `${where} refused the login: ${message}`, {
      hint: "Check the user and password in the URL (redis://user:password@host:6379).",
      cause: err,
      details,
    });
  }
  if (code === "ETIMEDOUT" || /timed? ?out/i.test(message)) {
    return new FabraError("STORE_UNAVAILABLE", `${where} did not answer within ${target.timeoutMs} ms`, {
      hint: `Check the server is up and reachable, or raise ${target.service}.timeoutMs. ${fixUrl}`,
      cause: err,
      details,
    });
  }
  if (/Stream isn't writeable|Connection is closed|ECONNRESET|EPIPE/i.test(message + code)) {
    return new FabraError("STORE_UNAVAILABLE", `${where} is not connected (${message})`, {
      hint: `Redis went away; fabra reconnects by itself when it is back. ${fixUrl}`,
      cause: err,
      details,
    });
  }
  return new FabraError("STORE_UNAVAILABLE", `${where}: ${message}`, {
    hint: "FABRA_DEBUG=1 shows the driver's stack; `fabra doctor` checks the setup.",
    cause: err,
    details,
  });
}
