// Reading the whole DuckDB ledger for verification (scanRaw): pages of rows by rowid (the ledger is append-only, so
// rowids run 0..n-1 in insertion order), each one short query on the store's connection with no sort; the next page
// is read while the caller verifies this one. Each row's text comes as bytes: the driver copies one BLOB per row and
// decodes nothing (only the two short keys come as strings). (A key-range page, as scan() reads, makes DuckDB read
// the text of every row in the vectors the range touches and sort it; a single streaming query keeps the connection
// for the whole scan.)
import type {
  DuckDBBigIntVector,
  DuckDBBlobVector,
  DuckDBConnection,
  DuckDBPreparedStatement,
  DuckDBVarCharVector,
} from "@duckdb/node-api";
import { FabraError } from "../../errors.js";
import { fromEpochMicros } from "../../record/datetime.js";
import type { DuckDatabase } from "./database.js";
import type { RawLedgerRow } from "../types.js";

/**
 * Rows per page. Small enough that a page's buffers (two pages are in memory: this one and the next) die young in
 * node's heap: at 2048 rows (a DuckDB vector) they outlived scavenges and the old-generation collections cost ~2
 * µs a row, at 512 ~0.6. Large enough that the per-query cost does not show.
 */
const PAGE = 512;
const FIRST_PAGE = 32;

// The text as a BLOB (the driver copies its bytes and decodes nothing), the two short keys as VARCHAR. (Concatenating
// the three into one BLOB saves the driver two short reads but makes DuckDB copy every text once more: 12–20 % more
// CPU a row, measured interleaved on 11 kB records.)
const PAGE_SQL = `SELECT epoch_us(created_at), context_id, record_hash, encode(canonical_text)
  FROM fabra_context_records WHERE rowid >= $1 AND rowid < $2`;

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

/** A BLOB's bytes as a Buffer of our own: the driver's copy, or (for the ≤ 12 bytes it stores inline) a new one. */
function owned(item: Uint8Array): Buffer {
  return item.byteLength <= 12 ? Buffer.from(item) : Buffer.from(item.buffer, item.byteOffset, item.byteLength);
}

/**
 * The page statement, prepared once per connection (and closed with it): a page is then one call to the driver that
 * runs the whole query off the main thread, so it overlaps the verification of the page before. Running the SQL
 * text would first take several round trips through the main thread (extract, prepare), each waiting for it.
 */
const statements = new WeakMap<DuckDBConnection, DuckDBPreparedStatement>();

function readPage(db: DuckDatabase, from: number, size: number): Promise<RawLedgerRow[]> {
  const page = db.exclusive(async (c) => {
    const rows: RawLedgerRow[] = [];
    let statement = statements.get(c);
    if (!statement) {
      statement = await c.prepare(PAGE_SQL);
      statements.set(c, statement);
    }
    statement.bind([from, from + size]);
    const result = await statement.stream();
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) return rows;
      const created = chunk.getColumnVector(0) as DuckDBBigIntVector;
      const ids = chunk.getColumnVector(1) as DuckDBVarCharVector;
      const hashes = chunk.getColumnVector(2) as DuckDBVarCharVector;
      const texts = chunk.getColumnVector(3) as DuckDBBlobVector;
      for (let i = 0; i < chunk.rowCount; i++) {
        rows.push(
          new DuckRawRow(
            ids.getItem(i) as string,
            hashes.getItem(i) as string,
            owned(texts.getItemBytes(i) as Uint8Array),
            created.getItem(i) as bigint,
          ),
        );
      }
    }
  });
  page.catch(() => undefined); // awaited by the scan, unless its caller stops first
  return page;
}

/**
 * Every row present when the scan starts, once, in insertion order, in batches of at most `batchSize`. The store's
 * connection is taken for one page at a time, so it stays free for others between pages.
 */
export async function* scanRawPages(db: DuckDatabase, batchSize: number): AsyncIterable<RawLedgerRow[]> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new FabraError("INVALID_ARGUMENT", `batch size ${batchSize} is not a positive whole number`, {
      hint: "Use e.g. 1000.",
    });
  }
  const [top] = await db.query<{ last: bigint | null }>("SELECT max(rowid) AS last FROM fabra_context_records");
  if (top?.last === null || top?.last === undefined) return;
  const last = Number(top.last);
  // The first page is read while the caller waits: small ones first, growing to PAGE, so it starts soon.
  let size = FIRST_PAGE;
  let next = readPage(db, 0, size);
  for (let from = 0; from <= last; ) {
    const rows = await next;
    from += size;
    size = Math.min(PAGE, size * 2);
    if (from <= last) next = readPage(db, from, size);
    for (let i = 0; i < rows.length; i += batchSize)
      yield rows.length <= batchSize ? rows : rows.slice(i, i + batchSize);
  }
}
