// The pgvector extension: is it installed or installable on this server, creating it (`fabra migrate`), and the
// per-index HNSW cosine index over `embedding::vector(dims)` (a partial index per vector index, so each index
// can have its own dimensions). Without the extension the vector store runs an exact scan instead.
import { createHash } from "node:crypto";
import pg from "pg";
import { isFabraError } from "../../errors.js";
import type { PgDatabase, PgQueryable } from "./pool.js";

/** HNSW indexes on `vector` hold at most this many dimensions (pgvector's limit). */
export const HNSW_MAX_DIMENSIONS = 2000;

export interface VectorExtensionState {
  /** Installed version in this database, or null. */
  installed: string | null;
  /** Version the server could install (pg_available_extensions), or null when pgvector is not on the server. */
  available: string | null;
}

export async function vectorExtension(q: PgQueryable): Promise<VectorExtensionState> {
  const rows = await q.query<{ installed: string | null; available: string | null }>(
    `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available`,
  );
  return { installed: rows[0]?.installed ?? null, available: rows[0]?.available ?? null };
}

export interface EnsureVectorResult {
  state: "installed" | "created" | "not-on-server" | "denied";
  version: string | null;
  /** One line for `fabra migrate` / `fabra doctor`. */
  message: string;
}

/** Creates the extension when the server has it; otherwise says why not and what search falls back to. */
export async function ensureVectorExtension(db: PgDatabase): Promise<EnsureVectorResult> {
  const state = await vectorExtension(db);
  if (state.installed)
    return {
      state: "installed",
      version: state.installed,
      message: `pgvector ${state.installed} installed: HNSW cosine indexes`,
    };
  if (!state.available) {
    return { state: "not-on-server", version: null, message: NOT_ON_SERVER };
  }
  try {
    await db.query("CREATE EXTENSION IF NOT EXISTS vector");
  } catch (err) {
    const reason = isFabraError(err) ? err.message : String(err);
    return {
      state: "denied",
      version: null,
      message: `pgvector ${state.available} is on the server but could not be created here (${reason}); vector search uses an exact scan until a superuser runs CREATE EXTENSION vector and then \`fabra migrate\``,
    };
  }
  const created = await vectorExtension(db);
  return {
    state: "created",
    version: created.installed,
    message: `pgvector ${created.installed} created: HNSW cosine indexes`,
  };
}

export const NOT_ON_SERVER =
  "pgvector is not installed on this Postgres server; vector search uses an exact scan (correct, but its cost grows with the number of chunks). " +
  "Install pgvector (e.g. the postgresql-<version>-pgvector package) and run `fabra migrate` again for HNSW indexes";

/** The HNSW index of one vector index (a stable, short, safe name whatever the index is called). */
export function hnswIndexName(index: string): string {
  return `fabra_chunks_hnsw_${createHash("sha256").update(index).digest("hex").slice(0, 16)}`;
}

/**
 * Creates the partial HNSW index of `index` if missing. DDL cannot take bound parameters, so the index name is
 * passed through pg's literal escaping and `dims` must be a whole number. Returns false when it cannot be built
 * (too many dimensions for HNSW); search then scans that index exactly with pgvector's operator.
 */
export async function ensureHnswIndex(db: PgDatabase, index: string, dims: number): Promise<boolean> {
  if (!Number.isSafeInteger(dims) || dims < 1) throw new Error(`dimensions ${dims} is not a positive whole number`);
  if (dims > HNSW_MAX_DIMENSIONS) return false;
  const name = hnswIndexName(index);
  await db.transaction(async (tx) => {
    // Two processes creating the same index at once would collide on the catalog; one waits for the other.
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`fabra:hnsw:${db.target.schema}:${index}`]);
    await tx.query(
      `CREATE INDEX IF NOT EXISTS ${pg.escapeIdentifier(name)} ON ${db.ident("fabra_chunks")}
       USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE index_name = ${pg.escapeLiteral(index)}`,
    );
  });
  return true;
}
