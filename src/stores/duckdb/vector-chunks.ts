// Keeps the in-memory vector index's chunks in the local DuckDB file between processes (embeddings as
// little-endian float32 blobs).
import { blobValue } from "./driver.js";
import { fromEpochMicros } from "../../record/datetime.js";
import { DuckDatabase } from "./database.js";
import type { ChunkWithEmbedding } from "../types.js";
import type { ChunkPersistence } from "../memory/vector.js";

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

  async loadIndex(index: string): Promise<ChunkWithEmbedding[]> {
    const rows = await this.db.query<Row>(
      `SELECT chunk_id, document_id, content, content_hash, source_url, epoch_us(indexed_at) AS indexed_us, token_count, token_count_o200k, embedding
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

  async deleteDocument(index: string, documentId: string): Promise<void> {
    await this.db.run("DELETE FROM fabra_chunks WHERE index_name = $1 AND document_id = $2", [index, documentId]);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
