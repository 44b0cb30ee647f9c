// The Postgres vector store. With pgvector: top-k by cosine distance over a per-index HNSW index
// (`vector_cosine_ops`), similarity = 1 - distance. Without pgvector on the server: the same table, searched by an
// exact scan computing cosine similarity in SQL over the float4 arrays, so retrieval still works (and is exact).
import { FabraError } from "../../errors.js";
import { fromEpochMicros, toEpochMicros } from "../../record/datetime.js";
import { acceptsCopyIn, encodeCopyBinary } from "./copy-binary.js";
import { requireMigrated } from "./migrate.js";
import { epochMicrosSql, PgDatabase, type PgQueryable, type PgTarget } from "./pool.js";
import pg from "pg";
import { ensureHnswIndex, hnswIndexName, vectorExtension } from "./pgvector-extension.js";
import type {
  Chunk,
  ChunkWithEmbedding,
  IndexedDocument,
  IndexedDocumentInfo,
  StoreCheck,
  VectorHit,
  VectorStore,
} from "../types.js";
import { probeVector } from "./probe.js";

const ROWS_PER_STATEMENT = 200;
/** Rows per bulk INSERT (one array per column, so the statement's text and parameter count stay the same). */
const BULK_ROWS = 1000;

/**
 * The bulk insert of `writeDocuments`: one array parameter per column, unnested into rows (embeddings as float4
 * array literals, cast per row), so 1,000 chunks are one statement with eleven parameters.
 */
export function bulkInsertSql(table: string): string {
  return `INSERT INTO ${table} (index_name, chunk_id, document_id, content, content_hash, source_url, indexed_at, token_count, embedding, document_hash, token_count_o200k)
   SELECT $1, u.chunk_id, u.document_id, u.content, u.content_hash, u.source_url, u.indexed_at, u.token_count, u.embedding::real[], u.document_hash, u.token_count_o200k
   FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::int[], $9::text[], $10::text[], $11::int[])
     AS u(chunk_id, document_id, content, content_hash, source_url, indexed_at, token_count, embedding, document_hash, token_count_o200k)
   ON CONFLICT (index_name, chunk_id) DO UPDATE SET document_id = EXCLUDED.document_id, content = EXCLUDED.content,
     content_hash = EXCLUDED.content_hash, source_url = EXCLUDED.source_url, indexed_at = EXCLUDED.indexed_at,
     token_count = EXCLUDED.token_count, embedding = EXCLUDED.embedding, document_hash = EXCLUDED.document_hash,
     token_count_o200k = EXCLUDED.token_count_o200k`;
}

/** The eleven parameters of bulkInsertSql for these rows. */
export function bulkInsertParams(
  index: string,
  rows: { chunk: ChunkWithEmbedding; documentHash: string }[],
): unknown[] {
  const cols: unknown[][] = Array.from({ length: 10 }, () => new Array(rows.length));
  rows.forEach(({ chunk: c, documentHash }, i) => {
    (cols[0] as unknown[])[i] = c.chunkId;
    (cols[1] as unknown[])[i] = c.documentId;
    (cols[2] as unknown[])[i] = c.content;
    (cols[3] as unknown[])[i] = c.contentHash;
    (cols[4] as unknown[])[i] = c.sourceUrl;
    (cols[5] as unknown[])[i] = c.indexedAt;
    (cols[6] as unknown[])[i] = c.tokenCount;
    (cols[7] as unknown[])[i] = float4Literal(c.embedding);
    (cols[8] as unknown[])[i] = documentHash;
    (cols[9] as unknown[])[i] = c.tokenCounts?.o200k_base ?? null;
  });
  return [index, ...cols];
}

const COPY_COLUMNS =
  "index_name, chunk_id, document_id, content, content_hash, source_url, indexed_at, token_count, embedding, document_hash, token_count_o200k";
const UNIQUE_VIOLATION = "23505";

/** The rows of writeDocuments as one binary COPY stream, in COPY_COLUMNS order. */
export function encodeChunkRows(index: string, rows: { chunk: ChunkWithEmbedding; documentHash: string }[]): Buffer {
  const indexName = { text: index };
  return encodeCopyBinary(
    rows.map(({ chunk: c, documentHash }) => {
      const o200k = c.tokenCounts?.o200k_base;
      return [
        indexName,
        { text: c.chunkId },
        { text: c.documentId },
        { text: c.content },
        { text: c.contentHash },
        c.sourceUrl === null ? null : { text: c.sourceUrl },
        { timestamptzMicros: toEpochMicros(c.indexedAt) },
        { int4: c.tokenCount },
        { float4Array: c.embedding },
        { text: documentHash },
        o200k === undefined ? null : { int4: o200k },
      ];
    }),
  );
}

/** `{x,y,...}`: each float32 printed exactly (its double value, which Postgres rounds back to the same float4). */
function float4Literal(v: Float32Array): string {
  let out = "{";
  for (let i = 0; i < v.length; i++) out += i === 0 ? String(v[i]) : `,${v[i]}`;
  return `${out}}`;
}

const CHUNK_COLUMNS = `c.chunk_id, c.document_id, c.content, c.content_hash, c.source_url, ${epochMicrosSql("c.indexed_at")} AS indexed_us, c.token_count, c.token_count_o200k`;

interface ChunkRow {
  chunk_id: string;
  document_id: string;
  content: string;
  content_hash: string;
  source_url: string | null;
  indexed_us: string;
  token_count: number;
  token_count_o200k: number | null;
  similarity?: number | null;
}

const toChunk = (r: ChunkRow): Chunk => ({
  chunkId: r.chunk_id,
  documentId: r.document_id,
  content: r.content,
  contentHash: r.content_hash,
  sourceUrl: r.source_url,
  indexedAt: fromEpochMicros(BigInt(r.indexed_us)),
  tokenCount: Number(r.token_count),
  ...(r.token_count_o200k === null ? {} : { tokenCounts: { o200k_base: Number(r.token_count_o200k) } }),
});

export class PgVectorStore implements VectorStore {
  readonly capabilities = { concurrentWriters: true, persistent: true, sharedAcrossProcesses: true };
  /** Index name → dimensions, once checked against the embedder. */
  private readonly known = new Map<string, number>();

  private constructor(
    private readonly db: PgDatabase,
    readonly dimensions: number,
    /** "pgvector": HNSW cosine indexes; "exact": exact scan in SQL (the server has no pgvector). */
    readonly mode: "pgvector" | "exact",
  ) {}

  static async open(target: PgTarget, dimensions: number): Promise<PgVectorStore> {
    const db = await PgDatabase.open(target);
    try {
      await requireMigrated(db);
      const ext = await vectorExtension(db);
      return new PgVectorStore(db, dimensions, ext.installed ? "pgvector" : "exact");
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** pgvector (or exact scan, a warning) and every index's dimensions against the embedder's. */
  probe(): Promise<StoreCheck[]> {
    return probeVector(this.db, this.dimensions);
  }

  async upsert(index: string, chunks: ChunkWithEmbedding[]): Promise<void> {
    for (const c of chunks) this.checkDimensions(c.embedding, `chunk ${c.chunkId}`);
    if (chunks.length === 0) return;
    await this.register(index);
    const table = this.db.ident("fabra_chunks");
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < chunks.length; i += ROWS_PER_STATEMENT) {
        const params: unknown[] = [];
        const tuples = chunks.slice(i, i + ROWS_PER_STATEMENT).map((c) => {
          params.push(
            index,
            c.chunkId,
            c.documentId,
            c.content,
            c.contentHash,
            c.sourceUrl,
            c.indexedAt,
            c.tokenCount,
            Array.from(c.embedding),
            c.tokenCounts?.o200k_base ?? null,
          );
          const n = params.length;
          return `($${n - 9}, $${n - 8}, $${n - 7}, $${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}::timestamptz, $${n - 2}, $${n - 1}::real[], $${n})`;
        });
        await tx.query(
          `INSERT INTO ${table} (index_name, chunk_id, document_id, content, content_hash, source_url, indexed_at, token_count, embedding, token_count_o200k)
           VALUES ${tuples.join(", ")}
           ON CONFLICT (index_name, chunk_id) DO UPDATE SET document_id = EXCLUDED.document_id, content = EXCLUDED.content,
             content_hash = EXCLUDED.content_hash, source_url = EXCLUDED.source_url, indexed_at = EXCLUDED.indexed_at,
             token_count = EXCLUDED.token_count, embedding = EXCLUDED.embedding,
             token_count_o200k = EXCLUDED.token_count_o200k`,
          params,
        );
      }
    });
  }

  async writeDocuments(index: string, documents: IndexedDocument[]): Promise<void> {
    for (const d of documents) for (const c of d.chunks) this.checkDimensions(c.embedding, `chunk ${c.chunkId}`);
    if (documents.length === 0) return;
    await this.register(index);
    const table = this.db.ident("fabra_chunks");
    const rows = documents.flatMap((d) => d.chunks.map((chunk) => ({ chunk, documentHash: d.documentHash })));
    const copy = acceptsCopyIn(this.db.server.version) ? encodeChunkRows(index, rows) : null;
    const insert = async (tx: PgQueryable) => {
      const sql = bulkInsertSql(table);
      for (let i = 0; i < rows.length; i += BULK_ROWS)
        await tx.query(sql, bulkInsertParams(index, rows.slice(i, i + BULK_ROWS)));
    };
    await this.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM ${table} WHERE index_name = $1 AND document_id = ANY($2::text[])`, [
        index,
        [...new Set(documents.map((d) => d.documentId))],
      ]);
      // The documents' old chunks are gone, so COPY (the bulk path) meets no conflict unless a chunk id is held by
      // another document (written through upsert); then the rows go in as upserts instead, as before.
      if (!copy) return insert(tx);
      await tx.query("SAVEPOINT fabra_copy");
      try {
        await tx.copyFrom(`COPY ${table} (${COPY_COLUMNS}) FROM STDIN (FORMAT binary)`, copy);
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        await tx.query("ROLLBACK TO SAVEPOINT fabra_copy");
        await insert(tx);
      }
    });
  }

  async listDocuments(index: string): Promise<IndexedDocumentInfo[]> {
    const rows = await this.db.query<{
      document_id: string;
      document_hash: string | null;
      source_url: string | null;
      chunks: string;
    }>(
      `SELECT document_id, min(document_hash) AS document_hash, min(source_url) AS source_url, count(*) AS chunks FROM ${this.db.ident("fabra_chunks")}
       WHERE index_name = $1 GROUP BY document_id ORDER BY document_id COLLATE "C"`,
      [index],
      { retry: true },
    );
    return rows.map((r) => ({
      documentId: r.document_id,
      documentHash: r.document_hash,
      sourceUrl: r.source_url,
      chunks: Number(r.chunks),
    }));
  }

  async deleteDocuments(index: string, documentIds: string[]): Promise<number> {
    if (documentIds.length === 0) return 0;
    const rows = await this.db.query<{ n: string }>(
      `WITH gone AS (DELETE FROM ${this.db.ident("fabra_chunks")} WHERE index_name = $1 AND document_id = ANY($2::text[]) RETURNING 1)
       SELECT count(*) AS n FROM gone`,
      [index, [...new Set(documentIds)]],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async dropIndex(index: string): Promise<number> {
    const chunks = this.db.ident("fabra_chunks");
    const indexes = this.db.ident("fabra_vector_indexes");
    const removed = await this.db.transaction(async (tx) => {
      const gone = await tx.query<{ n: string }>(
        `WITH gone AS (DELETE FROM ${chunks} WHERE index_name = $1 RETURNING 1) SELECT count(*) AS n FROM gone`,
        [index],
      );
      await tx.query(`DELETE FROM ${indexes} WHERE name = $1`, [index]);
      // The partial HNSW index of this name (its name derives from the index name, escaped as DDL needs).
      if (this.mode === "pgvector")
        await tx.query(
          `DROP INDEX IF EXISTS ${pg.escapeIdentifier(this.db.target.schema)}.${pg.escapeIdentifier(hnswIndexName(index))}`,
        );
      return Number(gone[0]?.n ?? 0);
    });
    this.known.delete(index);
    return removed;
  }

  async search(index: string, embedding: Float32Array, topK: number, minSimilarity = -Infinity): Promise<VectorHit[]> {
    this.checkDimensions(embedding, "the query embedding");
    if (!Number.isSafeInteger(topK) || topK < 1)
      throw new FabraError("INVALID_ARGUMENT", `topK ${topK} is not a positive whole number`, {
        hint: "Use e.g. topK: 5.",
      });
    const dims = await this.indexDimensions(index);
    const query = Array.from(embedding);
    const table = this.db.ident("fabra_chunks");
    let rows: ChunkRow[];
    if (this.mode === "pgvector") {
      // The ORDER BY expression matches the partial HNSW index, so the planner walks the index.
      const distance = `c.embedding::vector(${dims}) <=> $2::real[]::vector(${dims})`;
      rows = await this.db.query<ChunkRow>(
        `SELECT ${CHUNK_COLUMNS}, 1 - (${distance}) AS similarity FROM ${table} c WHERE c.index_name = $1 ORDER BY ${distance} LIMIT $3`,
        [index, query, topK],
        { retry: true },
      );
    } else {
      const norm = Math.sqrt(query.reduce((s, x) => s + x * x, 0));
      rows = await this.db.query<ChunkRow>(
        `SELECT ${CHUNK_COLUMNS}, s.similarity FROM ${table} c
         CROSS JOIN LATERAL (
           SELECT sum(a::float8 * b::float8) / nullif(sqrt(sum(a::float8 * a::float8)) * $3::float8, 0) AS similarity
           FROM unnest(c.embedding, $2::real[]) AS u(a, b)
         ) s
         WHERE c.index_name = $1 ORDER BY s.similarity DESC NULLS LAST, c.chunk_id LIMIT $4`,
        [index, query, norm, topK],
        { retry: true },
      );
    }
    if (rows.length === 0 && (await this.count(index)) === 0) throw await this.notFound(index);
    return rows
      .map((r) => ({ chunk: toChunk(r), similarity: clampSimilarity(r.similarity) }))
      .filter((h) => h.similarity >= minSimilarity);
  }

  async getChunks(index: string, chunkIds: string[]): Promise<Chunk[]> {
    if (chunkIds.length === 0) return [];
    const rows = await this.db.query<ChunkRow>(
      `SELECT ${CHUNK_COLUMNS} FROM ${this.db.ident("fabra_chunks")} c WHERE c.index_name = $1 AND c.chunk_id = ANY($2::text[])`,
      [index, chunkIds],
      { retry: true },
    );
    const byId = new Map(rows.map((r) => [r.chunk_id, toChunk(r)]));
    return chunkIds.flatMap((id) => {
      const chunk = byId.get(id);
      return chunk ? [chunk] : [];
    });
  }

  async deleteDocument(index: string, documentId: string): Promise<void> {
    await this.db.query(
      `DELETE FROM ${this.db.ident("fabra_chunks")} WHERE index_name = $1 AND document_id = $2`,
      [index, documentId],
      { retry: true },
    );
  }

  async count(index: string): Promise<number> {
    const rows = await this.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.db.ident("fabra_chunks")} WHERE index_name = $1`,
      [index],
      { retry: true },
    );
    return Number(rows[0]?.n ?? 0);
  }

  async listIndexes(): Promise<{ name: string; chunks: number; dimensions: number }[]> {
    const rows = await this.db.query<{ name: string; dimensions: number; chunks: string }>(
      `SELECT i.name, i.dimensions, count(c.chunk_id) AS chunks FROM ${this.db.ident("fabra_vector_indexes")} i
       JOIN ${this.db.ident("fabra_chunks")} c ON c.index_name = i.name GROUP BY i.name, i.dimensions ORDER BY i.name`,
      [],
      { retry: true },
    );
    return rows.map((r) => ({ name: r.name, chunks: Number(r.chunks), dimensions: Number(r.dimensions) }));
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /** Registers an index with the embedder's dimensions (or checks it), and gives it its HNSW index. */
  private async register(index: string): Promise<void> {
    if (this.known.has(index)) return;
    await this.db.query(
      `INSERT INTO ${this.db.ident("fabra_vector_indexes")} (name, dimensions) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
      [index, this.dimensions],
      {
        retry: true,
      },
    );
    const dims = await this.storedDimensions(index);
    if (dims === null) throw new FabraError("INTERNAL", `The vector index "${index}" vanished while being created`);
    this.checkIndexDimensions(index, dims);
    if (this.mode === "pgvector") await ensureHnswIndex(this.db, index, dims);
    this.known.set(index, dims);
  }

  /** The dimensions of a registered index, checked against the embedder; INDEX_NOT_FOUND if there is none. */
  private async indexDimensions(index: string): Promise<number> {
    const known = this.known.get(index);
    if (known !== undefined) return known;
    const dims = await this.storedDimensions(index);
    if (dims === null) throw await this.notFound(index);
    this.checkIndexDimensions(index, dims);
    this.known.set(index, dims);
    return dims;
  }

  private async notFound(index: string): Promise<FabraError> {
    const names = (await this.listIndexes()).map((i) => i.name);
    return new FabraError("INDEX_NOT_FOUND", `The vector index "${index}" is empty or does not exist`, {
      hint: `Add documents with: fabra index add <path> --index ${index}${names.length > 0 ? ` (indexes here: ${names.join(", ")})` : ""}`,
    });
  }

  private async storedDimensions(index: string): Promise<number | null> {
    const rows = await this.db.query<{ dimensions: number }>(
      `SELECT dimensions FROM ${this.db.ident("fabra_vector_indexes")} WHERE name = $1`,
      [index],
      { retry: true },
    );
    return rows[0] ? Number(rows[0].dimensions) : null;
  }

  private checkIndexDimensions(index: string, dims: number): void {
    if (dims !== this.dimensions) {
      throw new FabraError(
        "DIMENSION_MISMATCH",
        `The index "${index}" holds ${dims}-dimension embeddings, but the configured embedder makes ${this.dimensions}`,
        {
          hint: `The embedder changed since the index was built: re-index its documents into a new index (e.g. --index ${index}_v2), or restore the old embedder config.`,
        },
      );
    }
  }

  private checkDimensions(embedding: Float32Array, what: string): void {
    if (embedding.length !== this.dimensions) {
      throw new FabraError(
        "DIMENSION_MISMATCH",
        `${what} has ${embedding.length} dimensions; the vector store expects ${this.dimensions}`,
        {
          hint: "Check embedder.dimensions matches the model's output.",
        },
      );
    }
  }
}

/** Cosine similarity of a zero vector is undefined (NaN/NULL); like the memory store it counts as 0. */
function clampSimilarity(value: number | null | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? Math.max(-1, Math.min(1, n)) : 0;
}

export function open(target: PgTarget, dimensions: number): Promise<PgVectorStore> {
  return PgVectorStore.open(target, dimensions);
}
