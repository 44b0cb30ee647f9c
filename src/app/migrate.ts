// `fabra migrate` as a library: applies the numbered Postgres migrations to every Postgres target in the config
// (the ledger/offline schema and the vector schema, once each), creates pgvector where the server has it and
// gives each vector index its HNSW index. Idempotent; safe to run from several processes at once.
import { resolveProject, type ProjectOptions } from "./project.js";
import { migrateStores, type MigrateReport } from "../stores/index.js";

export type { MigrateReport };

export async function migrateProject(opts: ProjectOptions): Promise<MigrateReport[]> {
  const config = await resolveProject(opts);
  return migrateStores(config.stores);
}
