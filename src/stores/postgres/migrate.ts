// Versioned Postgres migrations: a fabra_migrations table, numbered migrations applied in order, each in its own
// transaction, under a session advisory lock so concurrent `fabra migrate` runs are safe (the second waits, then
// finds nothing to do). Stores check at open that the schema is current and say "run fabra migrate" if not.
import { createHash } from "node:crypto";
import pg from "pg";
import { FabraError } from "../../errors.js";
import { MIGRATIONS, type Migration } from "./migrations/index.js";
import { PgDatabase, type PgQueryable, type PgTarget } from "./pool.js";

export interface MigrationStatus {
  /** Versions recorded in fabra_migrations (empty when the table does not exist yet). */
  applied: number[];
  pending: Migration[];
  /** Applied migrations whose text differs from this build's (someone edited a released migration). */
  changed: number[];
  /** Applied versions this build does not know (a newer fabra migrated this database). */
  unknown: number[];
}

export interface MigrateResult {
  applied: Migration[];
  alreadyApplied: number;
}

export function checksum(m: Migration): string {
  return (
    "sha256:" +
    createHash("sha256")
      .update(JSON.stringify([m.version, m.name, m.up]))
      .digest("hex")
  );
}

/** A 64-bit advisory lock key per schema, so migrations of different schemas do not wait for each other. */
function lockKey(schema: string): string {
  return createHash("sha256").update(`fabra:migrate:${schema}`).digest().readBigInt64BE(0).toString();
}

export async function migrationStatus(
  db: PgDatabase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationStatus> {
  return statusWith(db, db, migrations);
}

async function statusWith(db: PgDatabase, q: PgQueryable, migrations: readonly Migration[]): Promise<MigrationStatus> {
  const exists = await q.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
    `${pg.escapeIdentifier(db.target.schema)}.fabra_migrations`,
  ]);
  const rows = exists[0]?.t
    ? await q.query<{ version: number; checksum: string }>(
        `SELECT version, checksum FROM ${db.ident("fabra_migrations")} ORDER BY version`,
      )
    : [];
  const applied = new Map(rows.map((r) => [Number(r.version), r.checksum]));
  return {
    applied: [...applied.keys()],
    pending: migrations.filter((m) => !applied.has(m.version)),
    changed: migrations
      .filter((m) => applied.has(m.version) && applied.get(m.version) !== checksum(m))
      .map((m) => m.version),
    unknown: [...applied.keys()].filter((v) => !migrations.some((m) => m.version === v)),
  };
}

/** Applies every pending migration (idempotent; safe to run from many processes at once). */
export async function applyMigrations(
  db: PgDatabase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  const schema = pg.escapeIdentifier(db.target.schema);
  return db.withClient(async (c) => {
    await c.query("SELECT pg_advisory_lock($1::bigint)", [lockKey(db.target.schema)]);
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${db.ident("fabra_migrations")} (
           version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const status = await statusWith(db, c, migrations);
      if (status.changed.length > 0) throw changedError(status.changed, db.target.schema);
      for (const m of status.pending) {
        await c.query("BEGIN");
        try {
          for (const sql of m.up) await c.query(sql.replaceAll("{{schema}}", schema));
          await c.query(`INSERT INTO ${db.ident("fabra_migrations")} (version, name, checksum) VALUES ($1, $2, $3)`, [
            m.version,
            m.name,
            checksum(m),
          ]);
          await c.query("COMMIT");
        } catch (err) {
          await c.query("ROLLBACK").catch(() => undefined);
          const reason = err instanceof Error ? err.message : String(err);
          throw new FabraError(
            "MIGRATION_FAILED",
            `${db.target.service}: migration ${m.version} (${m.name}) failed in schema "${db.target.schema}": ${reason}; nothing of it was applied`,
            {
              hint: "Fix the cause (often privileges: run `fabra migrate` as the owner of the schema) and run it again.",
              cause: err,
            },
          );
        }
      }
      return { applied: status.pending, alreadyApplied: status.applied.length };
    } finally {
      await c.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey(db.target.schema)]).catch(() => undefined);
    }
  });
}

/** Opens the database of a store whose schema must be migrated (closed again if it is not). */
export async function openMigrated(target: PgTarget): Promise<PgDatabase> {
  const db = await PgDatabase.open(target);
  try {
    await requireMigrated(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

const checked = new Set<string>();

/** Throws SCHEMA_OUTDATED ("run fabra migrate") unless every migration this build knows is applied. Checked once per process. */
export async function requireMigrated(db: PgDatabase): Promise<void> {
  const key = `${db.target.url}\u0000${db.target.schema}`;
  if (checked.has(key)) return;
  const status = await migrationStatus(db);
  if (status.changed.length > 0) throw changedError(status.changed, db.target.schema);
  if (status.pending.length > 0) {
    const versions = status.pending.map((m) => `${m.version} (${m.name})`).join(", ");
    throw new FabraError(
      "SCHEMA_OUTDATED",
      `${db.target.service}: the Postgres schema "${db.target.schema}" is missing migration${status.pending.length > 1 ? "s" : ""} ${versions}`,
      {
        hint: "Run `fabra migrate` (with the same config) to create or update fabra's tables, then try again.",
        details: { pending: status.pending.map((m) => m.version) },
      },
    );
  }
  checked.add(key);
}

function changedError(versions: number[], schema: string): FabraError {
  return new FabraError(
    "MIGRATION_FAILED",
    `Migration${versions.length > 1 ? "s" : ""} ${versions.join(", ")} in schema "${schema}" differ from the ones this fabra ships`,
    {
      hint: "A released migration was edited, or another fabra build migrated this database. Use the fabra version that migrated it.",
    },
  );
}
