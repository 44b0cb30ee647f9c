// An in-memory DuckDB for one job on table files (reading CSV/Parquet, writing CSV/Parquet), whatever stores are
// configured. The driver is imported on first use, so commands that read no table never load it.
import type { DuckDBConnection } from "@duckdb/node-api";

export type DuckDriver = typeof import("@duckdb/node-api");

/** Runs `job` on a fresh in-memory database (TimeZone UTC, like the DuckDB store), closed afterwards. */
export async function withMemoryDuckDB<T>(job: (c: DuckDBConnection, duck: DuckDriver) => Promise<T>): Promise<T> {
  const duck = await import("@duckdb/node-api");
  const instance = await duck.DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    // Times without an offset are UTC, whatever the machine's zone.
    await c.run("SET TimeZone = 'UTC'");
    return await job(c, duck);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
