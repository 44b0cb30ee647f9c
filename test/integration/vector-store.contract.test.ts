// The VectorStore contract on memory (chunks persisted in DuckDB), pgvector with HNSW on PGlite over the wire
// protocol, and the exact-scan fallback on the real Postgres (which has no pgvector here).
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBChunkPersistence } from "../../src/stores/duckdb/vector-chunks.js";
import { open as openMemory } from "../../src/stores/memory/vector.js";
import { open as openPgVector } from "../../src/stores/postgres/vector.js";
import { ensureVectorExtension, hnswIndexName } from "../../src/stores/postgres/pgvector-extension.js";
import { PgDatabase } from "../../src/stores/postgres/pool.js";
import { DIMS, seededVectors, vectorStoreContract } from "../contract/vector-store.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp, startPglite, type PgliteServer } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

const duckPath = tempFile("fabra-vectors-", "fabra.duckdb");
vectorStoreContract("memory (DuckDB-persisted)", {
  open: async (dims) => openMemory(dims, await DuckDBChunkPersistence.open(duckPath)),
});

describe("pgvector on PGlite over the wire protocol", () => {
  let server: PgliteServer;
  let schema: TestSchema;
  beforeAll(async () => {
    server = await startPglite();
    schema = await migratedSchema(server.url, "stores.vector");
    const db = await PgDatabase.open(schema.target);
    try {
      expect((await ensureVectorExtension(db)).state).toMatch(/created|installed/);
    } finally {
      await db.close();
    }
  }, 60_000);
  afterAll(async () => {
    await schema?.drop();
    await server?.stop();
  });

  vectorStoreContract("pgvector (PGlite)", {
    open: async (dims) => {
      const store = await openPgVector(schema.target, dims);
      expect(store.mode).toBe("pgvector");
      return store;
    },
  });

  it("searches through the index's HNSW cosine index (index name bound as a parameter, as the store does)", async () => {
    const store = await openPgVector(schema.target, DIMS);
    try {
      await store.upsert(
        "plan",
        seededVectors(50, DIMS, 3).map((embedding, i) => ({
          chunkId: `c${i}`,
          documentId: "d",
          content: "x",
          contentHash: "sha256:0",
          sourceUrl: null,
          indexedAt: "2025-01-01T00:00:00Z",
          tokenCount: 1,
          embedding,
        })),
      );
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        const idx = await client.query("SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2", [
          schema.target.schema,
          hnswIndexName("plan"),
        ]);
        expect(idx.rows[0]?.indexdef).toMatch(/USING hnsw .*vector_cosine_ops.*WHERE \(index_name = 'plan'::text\)/);
        await client.query("SET enable_seqscan = off");
        const q = `[${Array.from(seededVectors(1, DIMS, 9)[0] as Float32Array).join(",")}]`;
        const plan = await client.query(
          `EXPLAIN SELECT chunk_id FROM ${pg.escapeIdentifier(schema.target.schema)}.fabra_chunks c WHERE c.index_name = $2
           ORDER BY c.embedding::vector(${DIMS}) <=> $1::real[]::vector(${DIMS}) LIMIT 5`,
          [q.replace("[", "{").replace("]", "}"), "plan"],
        );
        expect(plan.rows.map((r: { "QUERY PLAN": string }) => r["QUERY PLAN"]).join("\n")).toContain(
          hnswIndexName("plan"),
        );
      } finally {
        await client.end();
      }
    } finally {
      await store.close();
    }
  });
});

const up = await postgresUp();
describe.skipIf(!up)("exact-scan fallback on the real Postgres (no pgvector)", () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await migratedSchema(POSTGRES_URL, "stores.vector");
  });
  afterAll(async () => {
    await schema?.drop();
  });

  it("reports that pgvector is missing and how to get it", async () => {
    const db = await PgDatabase.open(schema.target);
    try {
      const ext = await ensureVectorExtension(db);
      expect(ext.state).toBe("not-on-server");
      expect(ext.message).toMatch(/exact scan/);
      expect(ext.message).toMatch(/fabra migrate/);
    } finally {
      await db.close();
    }
  });

  vectorStoreContract("postgres exact scan", {
    open: async (dims) => {
      const store = await openPgVector(schema.target, dims);
      expect(store.mode).toBe("exact");
      return store;
    },
  });
});
