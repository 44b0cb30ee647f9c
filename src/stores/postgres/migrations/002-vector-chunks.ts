// Migration 2: chunks of the vector indexes. Embeddings are float4 arrays (exactly the Float32Array the
// embedder made); with pgvector installed each index also gets an HNSW index over `embedding::vector(dims)`
// (created per index by the vector store and by `fabra migrate`), without it search is an exact scan.
import type { Migration } from "./types.js";

export const vectorChunks: Migration = {
  version: 2,
  name: "vector index chunks",
  up: [
    `CREATE TABLE {{schema}}.fabra_vector_indexes (
       name text PRIMARY KEY,
       dimensions integer NOT NULL CHECK (dimensions > 0),
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE {{schema}}.fabra_chunks (
       index_name text NOT NULL REFERENCES {{schema}}.fabra_vector_indexes (name),
       chunk_id text NOT NULL,
       document_id text NOT NULL,
       content text NOT NULL,
       content_hash text NOT NULL,
       source_url text,
       indexed_at timestamptz NOT NULL,
       token_count integer NOT NULL,
       embedding real[] NOT NULL,
       PRIMARY KEY (index_name, chunk_id)
     )`,
    "CREATE INDEX fabra_chunks_document ON {{schema}}.fabra_chunks (index_name, document_id)",
  ],
};
