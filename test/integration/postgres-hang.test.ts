// A hung Postgres (a TCP proxy that holds every byte) never wedges fabra: every statement times out, the pool
// drops the hung connections, everything works again within seconds of the server answering, and /ready says so.
import { afterAll, describe, expect, it } from "vitest";
import { FabraError } from "../../src/errors.js";
import { createFabra, entity, feature } from "../../src/index.js";
import { startServer } from "../../src/server/serve.js";
import { PgDatabase } from "../../src/stores/postgres/pool.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, proxiedPostgres, type TcpProxy } from "../helpers/services.js";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function hungSetup(): Promise<{ proxy: TcpProxy; url: string; schema: TestSchema }> {
  const { proxy, url } = await proxiedPostgres(POSTGRES_URL);
  const schema = await migratedSchema(POSTGRES_URL);
  cleanups.push(
    () => proxy.close(),
    () => schema.drop(),
  );
  return { proxy, url, schema };
}

/** How long `work` took to settle, and its error (if it failed). */
async function timedOutcome(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const t0 = performance.now();
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  return { ms: performance.now() - t0, error };
}

async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - t0;
    if (performance.now() - t0 > withinMs) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a hung Postgres", () => {
  it("a slow statement is cancelled by the statement timeout, with a hint naming the setting", async () => {
    const { schema } = await hungSetup();
    const db = await PgDatabase.open({ ...schema.target, url: `${POSTGRES_URL}?slow=1`, statementTimeoutMs: 300 });
    cleanups.push(() => db.close());
    const { ms, error } = await timedOutcome(db.query("SELECT pg_sleep(3)"));
    expect(ms).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(FabraError);
    expect((error as FabraError).code).toBe("STORE_UNAVAILABLE");
    expect((error as FabraError).message).toMatch(/did not answer in time/);
    expect((error as FabraError).hint).toContain("stores.offline.statementTimeoutMs");
    expect(await db.query<{ one: number }>("SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it("every query fails in bounded time while it hangs (more queries than connections), and the pool heals itself", async () => {
    const { proxy, url, schema } = await hungSetup();
    const db = await PgDatabase.open({ ...schema.target, url, poolSize: 2, statementTimeoutMs: 300 });
    cleanups.push(() => db.close());
    expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);

    proxy.pause();
    const outcomes = await Promise.all([
      ...Array.from({ length: 4 }, () => timedOutcome(db.query("SELECT 1 AS one"))),
      timedOutcome(db.transaction((tx) => tx.query("SELECT 1 AS one"))),
    ]);
    for (const o of outcomes) {
      expect(o.error).toBeInstanceOf(FabraError);
      expect((o.error as FabraError).code).toBe("STORE_UNAVAILABLE");
      expect(o.ms).toBeLessThan(12_000);
    }
    proxy.resume();

    // Back within seconds, with no socket reset by anyone.
    const healedIn = await eventually(async () => (await db.query("SELECT 1 AS one")).length === 1, 5_000);
    expect(healedIn).toBeLessThan(5_000);
    const many = await Promise.all(
      Array.from({ length: 10 }, (_, i) => db.query<{ n: number }>("SELECT $1::int AS n", [i])),
    );
    expect(many.map((rows) => rows[0]?.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 30_000);

  it("the server: requests fail fast while it hangs, /ready says not ready, then ready again by itself", async () => {
    const { proxy, url, schema } = await hungSetup();
    const user = entity("user");
    const tier = feature({ entity: user }, (id: string) => `gold-${id}`);
    const fabra = await createFabra({
      stores: {
        offline: { type: "postgres", url, schema: schema.target.schema, poolSize: 2, statementTimeoutMs: 300 },
      },
      definitions: { user, tier },
      warn: () => {},
    });
    const server = await startServer({
      runtime: fabra,
      host: "127.0.0.1",
      port: 0,
      bodyLimit: 1 << 20,
      apiKeys: [],
      log: () => {},
    });
    cleanups.push(async () => {
      await server.close();
    });
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);

    proxy.pause();
    const t0 = performance.now();
    const during = await fetch(`${server.url}/v1/contexts`);
    expect(during.status).toBe(503);
    expect(performance.now() - t0).toBeLessThan(12_000);
    expect((await fetch(`${server.url}/ready`)).status).toBe(503);
    proxy.resume();

    const readyIn = await eventually(async () => (await fetch(`${server.url}/ready`)).status === 200, 8_000);
    expect(readyIn).toBeLessThan(8_000);
    expect((await fetch(`${server.url}/v1/contexts`)).status).toBe(200);
  }, 40_000);
});
