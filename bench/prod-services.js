// Services for the production-store benches (online, ledger-pg, vector): URLs, a private Postgres schema or Redis
// key prefix, PGlite+pgvector over the wire protocol. Timing, percentiles and running alone are in lib.js.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_URL =
  process.env.FABRA_BENCH_POSTGRES_URL ??
  process.env.FABRA_TEST_POSTGRES_URL ??
  "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL =
  process.env.FABRA_BENCH_REDIS_URL ?? process.env.FABRA_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export const uniqueName = (prefix = "fabra_bench") => `${prefix}_${randomBytes(5).toString("hex")}`;

export async function dropSchema(url, schema) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/** PGlite with pgvector served on a free port; `exec` runs SQL on the embedded instance itself. */
export async function startPglite() {
  const { PGlite } = await import("@electric-sql/pglite");
  const { vector } = await import("@electric-sql/pglite-pgvector");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: 10 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    exec: (sql) => db.exec(sql),
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
