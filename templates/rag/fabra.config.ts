// fabra config for {{name}}. Local mode: embedded DuckDB, in-memory cache and vector index — no services needed.
// For production, switch the stores to postgres / redis / pgvector (see fabra.config.example.ts in the fabra package).
import { defineConfig } from "fabra";

export default defineConfig({
  project: "{{name}}",
  definitions: ["./features.ts", "./retrievers.ts", "./contexts.ts"],
  stores: {
    offline: { type: "duckdb", path: ".fabra/fabra.duckdb" },
    online: { type: "memory" },
    vector: { type: "memory" },
  },
  // Offline, deterministic lexical embeddings (matches shared words, not meaning). For semantic search use
  // { type: "openai", model: "text-embedding-3-small", dimensions: 1536 } with OPENAI_API_KEY set.
  embedder: { type: "lexical" },
  // Small docs, small chunks. No overlap: when two neighbouring chunks of a document are both retrieved, an overlap
  // would appear twice in the assembled content. (Overlap helps a query that spans a chunk boundary match.)
  chunking: { chunkTokens: 120, overlapTokens: 0 },
});
