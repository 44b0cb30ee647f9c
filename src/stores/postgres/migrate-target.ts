// `fabra migrate` on one Postgres target: the numbered migrations, and for the vector store the pgvector extension
// and each vector index's HNSW index, with a report of what was done.
import { maskUrl } from "../../util/mask-url.js";
import { applyMigrations } from "./migrate.js";
import { ensureHnswIndex, ensureVectorExtension, type EnsureVectorResult } from "./pgvector-extension.js";
import { PgDatabase, type PgTarget } from "./pool.js";

export interface MigrateReport {
  service: string;
  url: string;
  schema: string;
  applied: { version: number; name: string }[];
  alreadyApplied: number;
  vector: (EnsureVectorResult & { hnsw: string[]; exact: string[] }) | null;
}

/** Applies the migrations on one target, and for the vector store the extension and each index's HNSW index. */
export async function migrateTarget(target: PgTarget, opts: { vector: boolean }): Promise<MigrateReport> {
  const db = await PgDatabase.open(target);
  try {
    const result = await applyMigrations(db);
    let vector: MigrateReport["vector"] = null;
    if (opts.vector) {
      const ext = await ensureVectorExtension(db);
      const hnsw: string[] = [];
      const exact: string[] = [];
      if (ext.state === "installed" || ext.state === "created") {
        const indexes = await db.query<{ name: string; dimensions: number }>(
          `SELECT name, dimensions FROM ${db.ident("fabra_vector_indexes")} ORDER BY name`,
        );
        for (const i of indexes)
          ((await ensureHnswIndex(db, i.name, Number(i.dimensions))) ? hnsw : exact).push(i.name);
      }
      vector = { ...ext, hnsw, exact };
    }
    return {
      service: target.service,
      url: maskUrl(target.url),
      schema: target.schema,
      applied: result.applied.map((m) => ({ version: m.version, name: m.name })),
      alreadyApplied: result.alreadyApplied,
      vector,
    };
  } finally {
    await db.close();
  }
}
