// Writing a table to a .csv, .parquet or .json file, or as CSV to a stream (stdout): the one place tables leave
// fabra. CSV and Parquet are written by an in-memory DuckDB (`COPY ... TO`); JSON by fabra's lossless JSON writer,
// so integers beyond 2^53 stay exact. Files are written beside the target and renamed into place: a failed write
// leaves the old file (or none), never half a table.
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { FabraError } from "../errors.js";
import { toJsonText } from "../record/json.js";
import { fsReason, writeFileAtomic } from "../util/fs-atomic.js";
import { firstLine, quoteText } from "./duckdb-sql.js";
import { loadTable, type Table } from "./duckdb-table.js";
import { withMemoryDuckDB } from "./memory-duckdb.js";

export type { Table } from "./duckdb-table.js";
export type TableFormat = "csv" | "parquet" | "json";

export interface WriteTableOptions {
  /** Parquet: columns of datetime text written as TIMESTAMP. */
  datetimeColumns?: string[];
}

/** Writes `table` to `path` in `format` (the header row first for CSV, even with no rows). */
export async function writeTableFile(
  path: string,
  format: TableFormat,
  table: Table,
  options: WriteTableOptions = {},
): Promise<void> {
  if (format === "json") return writeFileAtomic(path, `${toJsonText(table.rows, 2)}\n`);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await copyTo(tmp, format, table, options);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof FabraError) throw err;
    throw new FabraError(
      "FILE_UNWRITABLE",
      `Cannot write ${path}: ${isFsError(err) ? fsReason(err) : firstLine(err)}`,
      {
        hint: "Check that the directory exists and is writable.",
        cause: err,
      },
    );
  }
}

/** Writes `table` as CSV to `out` (a header row first), by way of a temporary file streamed out. */
export async function writeCsvTo(out: NodeJS.WritableStream, table: Table): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "fabra-table-"));
  try {
    const file = join(dir, "table.csv");
    try {
      await copyTo(file, "csv", table, {});
    } catch (err) {
      throw new FabraError("FILE_UNWRITABLE", `Cannot write the table as CSV: ${firstLine(err)}`, {
        hint: `Check that ${tmpdir()} is writable (or set TMPDIR).`,
        cause: err,
      });
    }
    for await (const chunk of createReadStream(file)) {
      if (!out.write(chunk as Buffer)) await once(out, "drain");
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function copyTo(
  path: string,
  format: "csv" | "parquet",
  table: Table,
  options: WriteTableOptions,
): Promise<void> {
  await withMemoryDuckDB(async (c, duck) => {
    await loadTable(
      c,
      duck,
      "out",
      table,
      format === "parquet" ? { datetimeColumns: options.datetimeColumns ?? [] } : null,
    );
    // CSV: RFC 4180 (fields with a comma, quote or line break quoted, quotes doubled); null cells empty, "" quoted.
    const spec =
      format === "parquet" ? "FORMAT parquet" : `FORMAT csv, HEADER true, DELIMITER ',', QUOTE '"', ESCAPE '"'`;
    await c.run(`COPY out TO ${quoteText(path)} (${spec})`);
  });
}

const isFsError = (err: unknown) =>
  typeof (err as NodeJS.ErrnoException | null)?.code === "string" &&
  typeof (err as NodeJS.ErrnoException).syscall === "string";
