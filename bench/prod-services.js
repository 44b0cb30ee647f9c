// Helpers for the production-store benches (online, ledger-pg, vector): service URLs, a private Postgres schema
// or Redis prefix, PGlite+pgvector over the wire protocol, percentiles, and running a bench file on its own.
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import pg from "pg";

export const POSTGRES_URL = process.env.FABRA_BENCH_POSTGRES_URL ?? process.env.FABRA_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.FABRA_BENCH_REDIS_URL ?? process.env.FABRA_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export const uniqueName = (prefix = "fabra_bench") => `${prefix}_${randomBytes(5).toString("hex")}`;

export function percentile(values, p) {
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export const round = (v, digits = 3) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v);

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

/** Options as the harness passes them, when a bench file runs alone (`node bench/x.bench.js [--quick]`). */
export function aloneOptions() {
  const quick = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";
  return { quick, log: (m) => process.stderr.write(`${m}\n`) };
}

/** Runs `run` when the file is executed directly, printing the result as JSON on stdout. */
export function runIfMain(metaUrl, run) {
  if (!process.argv[1] || metaUrl !== pathToFileURL(process.argv[1]).href) return;
  run(aloneOptions()).then(
    (result) => process.stdout.write(JSON.stringify(result, null, 2) + "\n"),
    (err) => {
      process.stderr.write(`${err?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}

/** Fills in options the harness would give, so run() works both ways. */
export function withDefaults(options = {}) {
  return { quick: Boolean(options.quick), log: options.log ?? ((m) => process.stderr.write(`${m}\n`)) };
}
