// Reading the whole DuckDB ledger for verification (scanRaw): one streaming read in storage order on a connection
// of its own, so every row's large canonical_text is read once, with no sort, and other users of the store are not
// held up. Each row is handed over as bytes: the driver copies a BLOB once and decodes nothing.
import type { DuckDBBigIntVector, DuckDBBlobVector, DuckDBDataChunk, DuckDBIntegerVector } from "@duckdb/node-api";
import { FabraError } from "../../errors.js";
import { fromEpochMicros } from "../../record/datetime.js";
import { DuckDatabase } from "../shared/duckdb-database.js";
import type { RawLedgerRow } from "../types.js";

// The three text columns as one BLOB, with the lengths of the first two: one copy per row for the driver.
const RAW_SQL = `SELECT epoch_us(created_at), strlen(context_id)::INTEGER, strlen(record_hash)::INTEGER,
  encode(context_id || record_hash || canonical_text) FROM fabra_context_records`;

/** A raw row whose created_at is formatted only if it is read (for a row being reported). */
class DuckRawRow implements RawLedgerRow {
  constructor(
    readonly contextId: string,
    readonly recordHash: string,
    readonly canonicalBytes: Uint8Array,
    private readonly createdUs: bigint,
  ) {}

  get createdAt(): string {
    return fromEpochMicros(this.createdUs);
  }
}

function rawRows(chunk: DuckDBDataChunk): RawLedgerRow[] {
  const created = chunk.getColumnVector(0) as DuckDBBigIntVector;
  const idLengths = chunk.getColumnVector(1) as DuckDBIntegerVector;
  const hashLengths = chunk.getColumnVector(2) as DuckDBIntegerVector;
  const texts = chunk.getColumnVector(3) as DuckDBBlobVector;
  const rows: RawLedgerRow[] = new Array(chunk.rowCount);
  for (let i = 0; i < chunk.rowCount; i++) {
    const item = texts.getItemBytes(i) as Uint8Array;
    const bytes = Buffer.from(item.buffer, item.byteOffset, item.byteLength);
    const idEnd = idLengths.getItem(i) as number;
    const hashEnd = idEnd + (hashLengths.getItem(i) as number);
    rows[i] = new DuckRawRow(bytes.toString("utf8", 0, idEnd), bytes.toString("utf8", idEnd, hashEnd), bytes.subarray(hashEnd), created.getItem(i) as bigint);
  }
  return rows;
}

/** Every row of the ledger in `path` once, in storage order, in batches of at most `batchSize`. */
export async function* scanRawRows(path: string, batchSize: number): AsyncIterable<RawLedgerRow[]> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new FabraError("INVALID_ARGUMENT", `batch size ${batchSize} is not a positive whole number`, { hint: "Use e.g. 1000." });
  }
  const db = await DuckDatabase.open(path);
  try {
    for await (const rows of db.stream(RAW_SQL, [], rawRows)) {
      for (let i = 0; i < rows.length; i += batchSize) yield rows.length <= batchSize ? rows : rows.slice(i, i + batchSize);
    }
  } finally {
    await db.close();
  }
}
