// Every fabra config key, with its default. Copy what you need into your project's fabra.config.ts.
// Environment variables win over this file: FABRA_ENV, FABRA_DUCKDB_PATH, FABRA_POSTGRES_URL, FABRA_REDIS_URL,
// FABRA_EVIDENCE_MODE, FABRA_RECORD_INCLUDE_CONTENT, FABRA_SIGNING_KEY, FABRA_SIGNING_KEY_ID, FABRA_SIGNATURE_MODE.
import { defineConfig } from "fabra";

export default defineConfig({
  project: "my-assistant",
  // Stamped into every record. FABRA_ENV wins.
  environment: "development", // any name, stamped into records as given (development, staging, production, test, ...)

  // Modules exporting entity(), feature(), retriever() and context() definitions; relative to this file.
  definitions: ["./features.ts", "./retrievers.ts", "./contexts.ts"],

  stores: {
    // Local mode (the default): everything in one embedded DuckDB file, no services.
    offline: { type: "duckdb", path: ".fabra/fabra.duckdb" }, // default ~/.fabra/fabra.duckdb; ":memory:" allowed
    online: { type: "memory" }, // in-process cache with per-feature TTLs
    vector: { type: "memory" }, // cosine search in memory (HNSW from 50k chunks: ann: { minChunks }); chunks kept in the DuckDB file

    // Production mode: one Postgres (with pgvector if available) and one Redis, shared by every process.
    // Run `fabra migrate` once to create the tables, `fabra doctor` to check everything, `fabra worker` (any number)
    // for scheduled refreshes. Postgres holds the ledger, feature history and runs (features' `entities: { sql }`
    // run there, read-only); Redis holds the online cache and the refresh locks.
    // offline: { type: "postgres", url: "postgres://fabra@db:5432/fabra", poolSize: 10, schema: "public" }, // or FABRA_POSTGRES_URL
    // online: { type: "redis", url: "redis://cache:6379", keyPrefix: "fabra:", timeoutMs: 1000 },           // or FABRA_REDIS_URL
    // vector: { type: "pgvector" }, // url and schema default to the offline ones; exact scan if the server lacks pgvector
  },

  // Offline and deterministic by default: lexical embeddings (shared words, not meaning), 384 dimensions.
  embedder: { type: "lexical", dimensions: 384 },
  // Semantic search through any OpenAI-compatible endpoint; the key comes from the environment, never from here.
  // embedder: { type: "openai", model: "text-embedding-3-small", dimensions: 1536, apiKeyEnv: "OPENAI_API_KEY" },

  // How `fabra index add` cuts documents (tokens, counted with tiktoken).
  chunking: { chunkTokens: 256, overlapTokens: 32 },

  evidence: {
    // required: a context whose record cannot be written is not served (default in production).
    // best_effort: it is served with meta.persisted = false and a warning (default elsewhere).
    mode: "best_effort",
    // false: records keep only hashes of content (for sensitive data); callers still get the content.
    includeContent: true,
  },

  // HMAC signing of record hashes with FABRA_SIGNING_KEY: off | optional | required. While a key is configured,
  // unsigned records fail verification; acceptUnsignedBefore (a context id or a time) accepts older ones.
  // More verification keys by id (rotation): FABRA_SIGNING_KEYS=old:hex:...,new:base64:...
  signing: { mode: "optional" /* , acceptUnsignedBefore: "2026-03-01T00:00:00Z" */ },

  // lineage.code_version; default: the project's git SHA when it is a git checkout.
  // codeVersion: process.env.GIT_SHA,

  // `fabra serve` defaults; API keys come from FABRA_API_KEYS (comma-separated).
  server: { port: 8000, host: "127.0.0.1", bodyLimit: 1048576 },
});
