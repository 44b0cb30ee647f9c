// Opening Postgres-backed stores on a private, migrated schema for a test file.
import { applyMigrations } from "../../src/stores/shared/postgres-migrate.js";
import { PgDatabase, type PgTarget } from "../../src/stores/shared/postgres.js";
import { dropSchema, uniqueName } from "./services.js";

export interface TestSchema {
  target: PgTarget;
  drop(): Promise<void>;
}

/** A new schema on `url` with every migration applied; drop() removes it. */
export async function migratedSchema(url: string, service = "stores.offline"): Promise<TestSchema> {
  const target: PgTarget = { url, schema: uniqueName(), service, poolSize: 5 };
  const db = await PgDatabase.open(target);
  try {
    await applyMigrations(db);
  } finally {
    await db.close();
  }
  return { target, drop: () => dropSchema(url, target.schema) };
}
