// `fabra migrate` as a library: applies the numbered Postgres migrations to every Postgres target in the config
// (the ledger/offline schema and the vector schema, once each), creates pgvector where the server has it and
// gives each vector index its HNSW index. Idempotent; safe to run from several processes at once.
import { resolveProject, type ProjectOptions } from "./project.js";
import { offlineTarget, vectorTarget } from "../stores/index.js";
import type { MigrateReport } from "../stores/probe.js";
import type { PgTarget } from "../stores/postgres/pool.js";

export type { MigrateReport };

export async function migrateProject(opts: ProjectOptions): Promise<MigrateReport[]> {
  const config = await resolveProject(opts);
  const { offline, vector } = config.stores;
  const targets: { target: PgTarget; vector: boolean }[] = [];
  if (offline.type === "postgres") targets.push({ target: offlineTarget(offline), vector: false });
  if (vector.type === "pgvector") {
    const same = targets.find((t) => t.target.url === vector.url && t.target.schema === vector.schema);
    if (same) same.vector = true;
    else targets.push({ target: vectorTarget(vector), vector: true });
  }
  if (targets.length === 0) return [];
  const probe = await import("../stores/probe.js");
  const reports: MigrateReport[] = [];
  for (const t of targets) reports.push(await probe.migrateTarget(t.target, { vector: t.vector }));
  return reports;
}
