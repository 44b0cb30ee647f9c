// Real services for integration tests: the shared Postgres and Redis (URLs from env), a private schema per test
// file, PGlite+pgvector over the wire protocol, a throwaway redis-server, and a TCP proxy we can cut.
// An unreachable shared service fails the suite when CI is set, and skips it (with the reason) only outside CI.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import pg from "pg";
import { Redis } from "ioredis";

export const POSTGRES_URL = process.env.FABRA_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.FABRA_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const IN_CI = Boolean(process.env.CI);

async function reachable(check: () => Promise<unknown>): Promise<string | null> {
  try {
    await check();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Whether a shared service is up. In CI an unreachable service throws (the test file fails, never skips);
 * elsewhere it returns false and prints why the suite is skipped.
 */
async function requireService(name: string, url: string, check: () => Promise<unknown>): Promise<boolean> {
  const problem = await reachable(check);
  if (problem === null) return true;
  const message = `${name} at ${url} is unreachable (${problem})`;
  if (IN_CI) throw new Error(`${message}: CI must run the ${name} suites (.ci/run starts it)`);
  process.stderr.write(`skipping ${name} suites: ${message}. Start it or set the FABRA_TEST_* URL.\n`);
  return false;
}

export const postgresUp = (): Promise<boolean> =>
  requireService("Postgres", POSTGRES_URL, async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.end();
  });

export const redisUp = (): Promise<boolean> =>
  requireService("Redis", REDIS_URL, async () => {
    const client = new Redis(REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 3000,
    });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.ping();
    } finally {
      client.disconnect();
    }
  });

export function uniqueName(prefix = "fabra_test"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Deletes the keys under a test prefix (never FLUSHDB on the shared server). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

export interface PgliteServer {
  url: string;
  stop(): Promise<void>;
}

/** PGlite with pgvector, served over the Postgres wire protocol on a free port. */
export async function startPglite(): Promise<PgliteServer> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { vector } = await import("@electric-sql/pglite-pgvector");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: 20 });
  await server.start();
  const port = Number(server.getServerConn().split(":").pop());
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface OwnRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A throwaway redis-server of our own (never the shared one), on a free port, no persistence. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await reachable(async () => {
        const c = new Redis({
          port,
          host: "127.0.0.1",
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        c.on("error", () => undefined);
        try {
          await c.connect();
          await c.ping();
        } finally {
          c.disconnect();
        }
      });
      if (ok === null) return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start: ${ok}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop };
}

export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  /** Holds every byte in both directions (connections stay open, new ones are accepted): a hung server. */
  pause(): void;
  /** Delivers what was held, in order, and forwards again. */
  resume(): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of a server we do not control, so a test can drop its connections. */
export async function startProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let down = false;
  let paused = false;
  const held: (() => void)[] = [];
  const forward = (from: net.Socket, to: net.Socket) =>
    from.on("data", (chunk: Buffer) => {
      const deliver = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (paused) held.push(deliver);
      else deliver();
    });
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    forward(client, upstream);
    forward(upstream, client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      down = false;
    },
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      for (const deliver of held.splice(0)) deliver();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A proxy in front of the Postgres at `url`, and the same URL going through it. */
export async function proxiedPostgres(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const base = new URL(url);
  const proxy = await startProxy(base.hostname, Number(base.port || 5432));
  const through = new URL(url);
  through.host = `127.0.0.1:${proxy.port}`;
  return { proxy, url: through.toString() };
}
