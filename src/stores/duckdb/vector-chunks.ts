// Keeps the in-memory vector index's chunks in the local DuckDB file between processes (embeddings as
// little-endian float32 blobs). Bulk writes (`index add`) go through DuckDB's appender: a batch of documents
// deletes their old chunks and appends the new ones in one transaction; during a bulk load no commit checkpoints.
import type { DuckDBAppender, DuckDBValue } from "@duckdb/node-api";
import { blobValue, DuckDBTimestampValue } from "./driver.js";
import { fromEpochMicros, toEpochMicros } from "../../record/datetime.js";
import { DuckDatabase } from "./database.js";
import { beginBulkLoad } from "./bulk-load.js";
import type { ChunkWithEmbedding, IndexedDocument } from "../types.js";
import type { ChunkPersistence, StoredChunk } from "../memory/vector.js";

const SCHEMA = `CREATE TABLE IF NOT EXISTS fabra_chunks (
  index_name VARCHAR NOT NULL,
  chunk_id VARCHAR NOT NULL,
  document_id VARCHAR NOT NULL,
  content VARCHAR NOT NULL,
  content_hash VARCHAR NOT NULL,
  source_url VARCHAR,
  indexed_at TIMESTAMP NOT NULL,
  token_count INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  token_count_o200k INTEGER,
  document_hash VARCHAR,
  PRIMARY KEY (index_name, chunk_id)
)`;

interface Row {
  chunk_id: string;
  document_id: string;
  content: string;
  content_hash: string;
  source_url: string | null;
  indexed_us: bigint;
  token_count: number;
  token_count_o200k: number | null;
  embedding: Uint8Array;
  document_hash: string | null;
}

export class DuckDBChunkPersistence implements ChunkPersistence {
  private constructor(private readonly db: DuckDatabase) {}

  static async open(path: string): Promise<DuckDBChunkPersistence> {
    const db = await DuckDatabase.open(path);
    try {
      await db.run(SCHEMA);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new DuckDBChunkPersistence(db);
  }

  async loadIndex(index: string): Promise<StoredChunk[]> {
    const rows = await this.db.query<Row>(
      `SELECT chunk_id, document_id, content, content_hash, source_url, epoch_us(indexed_at) AS indexed_us, token_count, token_count_o200k, embedding, document_hash
       FROM fabra_chunks WHERE index_name = $1 ORDER BY chunk_id`,
      [index],
    );
    return rows.map((r) => ({
      chunkId: r.chunk_id,
      documentId: r.document_id,
      content: r.content,
      contentHash: r.content_hash,
      sourceUrl: r.source_url,
      indexedAt: fromEpochMicros(r.indexed_us),
      tokenCount: Number(r.token_count),
      ...(r.token_count_o200k === null ? {} : { tokenCounts: { o200k_base: Number(r.token_count_o200k) } }),
      embedding: new Float32Array(
        r.embedding.buffer.slice(r.embedding.byteOffset, r.embedding.byteOffset + r.embedding.byteLength),
      ),
      documentHash: r.document_hash,
    }));
  }

  async listIndexes(): Promise<string[]> {
    const rows = await this.db.query<{ index_name: string }>(
      "SELECT DISTINCT index_name FROM fabra_chunks ORDER BY index_name",
    );
    return rows.map((r) => r.index_name);
  }

  async upsert(index: string, chunks: ChunkWithEmbedding[]): Promise<void> {
    await this.db.transaction(async (run) => {
      for (const c of chunks) {
        const bytes = new Uint8Array(c.embedding.buffer, c.embedding.byteOffset, c.embedding.byteLength);
        await run(
          `INSERT OR REPLACE INTO fabra_chunks (index_name, chunk_id, document_id, content, content_hash, source_url,
             indexed_at, token_count, embedding, token_count_o200k)
           VALUES ($1, $2, $3, $4, $5, $6, $7::TIMESTAMP, $8, $9, $10)`,
          [
            index,
            c.chunkId,
            c.documentId,
            c.content,
            c.contentHash,
            c.sourceUrl,
            c.indexedAt,
            c.tokenCount,
            blobValue(bytes),
            c.tokenCounts?.o200k_base ?? null,
          ],
        );
      }
    });
  }

  beginBulkLoad(): Promise<() => Promise<void>> {
    return beginBulkLoad(this.db);
  }

  async writeDocuments(
    index: string,
    documents: IndexedDocument[],
    replaced: string[],
    displaced: string[],
  ): Promise<void> {
    if (documents.length === 0) return;
    await this.db.transaction(async (run, connection) => {
      await deleteWhere(run, index, "document_id", replaced);
      await deleteWhere(run, index, "chunk_id", displaced);
      const appender = await connection.createAppender("fabra_chunks");
      try {
        const at = timestamps();
        for (const d of documents) for (const c of d.chunks) appendChunk(appender, index, c, d.documentHash, at);
        appender.flushSync();
      } catch (err) {
        // Nothing left to flush when it is closed (or collected): the transaction is rolled back.
        appender.clear();
        throw err;
      } finally {
        try {
          appender.closeSync();
        } catch {
          // rolled back anyway
        }
      }
    });
  }

  async deleteDocuments(index: string, documentIds: string[]): Promise<void> {
    if (documentIds.length === 0) return;
    await this.db.transaction((run) => deleteWhere(run, index, "document_id", documentIds));
  }

  async dropIndex(index: string): Promise<void> {
    await this.db.run("DELETE FROM fabra_chunks WHERE index_name = $1", [index]);
  }

  async deleteDocument(index: string, documentId: string): Promise<void> {
    await this.db.run("DELETE FROM fabra_chunks WHERE index_name = $1 AND document_id = $2", [index, documentId]);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** Deletes the chunks of these documents, or these chunks (bound parameters, a few hundred ids per statement). */
async function deleteWhere(
  run: (sql: string, params?: DuckDBValue[]) => Promise<number>,
  index: string,
  column: "document_id" | "chunk_id",
  values: string[],
): Promise<void> {
  const unique = [...new Set(values)];
  for (let i = 0; i < unique.length; i += 500) {
    const ids = unique.slice(i, i + 500);
    await run(
      `DELETE FROM fabra_chunks WHERE index_name = $1 AND ${column} IN (${ids.map((_, j) => `$${j + 2}`).join(", ")})`,
      [index, ...ids],
    );
  }
}

/** indexedAt → its DuckDB value, parsed once per run of equal times (a batch's chunks share one or a few). */
function timestamps(): (indexedAt: string) => DuckDBTimestampValue {
  let last = "";
  let value: DuckDBTimestampValue | null = null;
  return (indexedAt) => {
    if (value === null || indexedAt !== last) {
      value = new DuckDBTimestampValue(toEpochMicros(indexedAt));
      last = indexedAt;
    }
    return value;
  };
}

function appendChunk(
  appender: DuckDBAppender,
  index: string,
  c: ChunkWithEmbedding,
  documentHash: string,
  timestamp: (indexedAt: string) => DuckDBTimestampValue,
): void {
  appender.appendVarchar(index);
  appender.appendVarchar(c.chunkId);
  appender.appendVarchar(c.documentId);
  appender.appendVarchar(c.content);
  appender.appendVarchar(c.contentHash);
  if (c.sourceUrl === null) appender.appendNull();
  else appender.appendVarchar(c.sourceUrl);
  appender.appendTimestamp(timestamp(c.indexedAt));
  appender.appendInteger(c.tokenCount);
  appender.appendBlob(new Uint8Array(c.embedding.buffer, c.embedding.byteOffset, c.embedding.byteLength));
  const o200k = c.tokenCounts?.o200k_base;
  if (o200k === undefined) appender.appendNull();
  else appender.appendInteger(o200k);
  appender.appendVarchar(documentHash);
  appender.endRow();
}
