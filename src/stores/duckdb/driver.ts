// The DuckDB driver's values (@duckdb/node-api), required as CommonJS: imported as ESM, node first scans every one
// of its modules for export names, ~0.1 s of each ledger command's start. Its types come from the package itself.
import { createRequire } from "node:module";

type Driver = typeof import("@duckdb/node-api");

const driver = createRequire(import.meta.url)("@duckdb/node-api") as Driver;

export const { DuckDBInstance, DuckDBTimestampValue, listValue, blobValue, LIST, VARCHAR, BIGINT, BOOLEAN } = driver;
/** The statement type of a SELECT (a prepared statement's `statementType`). */
export const SELECT_STATEMENT: number = driver.StatementType.SELECT;
export type DuckDBInstance = InstanceType<Driver["DuckDBInstance"]>;
export type DuckDBTimestampValue = InstanceType<Driver["DuckDBTimestampValue"]>;
