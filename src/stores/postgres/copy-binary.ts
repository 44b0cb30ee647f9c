// Rows encoded in COPY's binary format, for `COPY ... FROM STDIN (FORMAT binary)` (sent by copy-from.ts): the bulk
// path of Postgres itself (no SQL text to parse per row, no float printed as text and read back).

/** One column value in binary COPY: text, int4, timestamptz (epoch microseconds), float4[] (one dimension), NULL. */
export type CopyValue =
  | { text: string }
  | { int4: number }
  | { timestamptzMicros: bigint }
  | { float4Array: Float32Array }
  | null;

/**
 * Whether the server can take COPY FROM STDIN. PGlite's socket server runs each protocol message on its own, so a COPY
 * never sees the CopyData after it (the connection fails); its version() names it.
 */
export function acceptsCopyIn(version: string): boolean {
  return !/\(PGlite /.test(version);
}

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
/** float4's type oid (pg_type), named in each array's header. */
const FLOAT4_OID = 700;
/** Microseconds from the Unix epoch to Postgres's (2000-01-01 UTC). */
const PG_EPOCH_OFFSET_MICROS = 946_684_800_000_000n;

/** Rows (each the same number of columns) as one binary COPY stream: header, tuples, trailer. */
export function encodeCopyBinary(rows: readonly (readonly CopyValue[])[]): Buffer {
  let size = SIGNATURE.length + 8 + 2;
  for (const row of rows) {
    size += 2;
    for (const v of row) size += 4 + valueBytes(v);
  }
  const out = Buffer.allocUnsafe(size);
  let at = SIGNATURE.copy(out, 0);
  at = out.writeInt32BE(0, at); // flags
  at = out.writeInt32BE(0, at); // header extension length
  for (const row of rows) {
    at = out.writeInt16BE(row.length, at);
    for (const v of row) at = writeValue(out, at, v);
  }
  at = out.writeInt16BE(-1, at);
  return out;
}

function valueBytes(v: CopyValue): number {
  if (v === null) return 0;
  if ("text" in v) return Buffer.byteLength(v.text, "utf8");
  if ("int4" in v) return 4;
  if ("timestamptzMicros" in v) return 8;
  return 20 + 8 * v.float4Array.length;
}

function writeValue(out: Buffer, start: number, v: CopyValue): number {
  if (v === null) return out.writeInt32BE(-1, start);
  let at = start + 4; // the length is written once the value is
  if ("text" in v) at += out.write(v.text, at, "utf8");
  else if ("int4" in v) at = out.writeInt32BE(v.int4, at);
  else if ("timestamptzMicros" in v) at = out.writeBigInt64BE(v.timestamptzMicros - PG_EPOCH_OFFSET_MICROS, at);
  else {
    const values = v.float4Array;
    at = out.writeInt32BE(1, at); // dimensions
    at = out.writeInt32BE(0, at); // no NULL elements
    at = out.writeInt32BE(FLOAT4_OID, at);
    at = out.writeInt32BE(values.length, at);
    at = out.writeInt32BE(1, at); // lower bound
    for (let i = 0; i < values.length; i++) {
      out.writeInt32BE(4, at);
      out.writeFloatBE(values[i] as number, at + 4);
      at += 8;
    }
  }
  out.writeInt32BE(at - start - 4, start);
  return at;
}
