// Opening Postgres-backed stores on a private, migrated schema for a test file.
import { applyMigrations } from "../../src/stores/postgres/migrate.js";
import { PgDatabase, type PgTarget } from "../../src/stores/postgres/pool.js";
import { afterAll, beforeAll, describe } from "vitest";
import { dropSchema, startPglite, uniqueName, type PgliteServer } from "./services.js";

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

/** A contract harness for a Postgres-backed store: each open() gets a fresh migrated schema, cleanup() drops it. */
export function onMigratedSchema<T>(
  url: () => string,
  open: (target: PgTarget) => Promise<T>,
): { open(): Promise<T>; cleanup(): Promise<void> } {
  let schema: TestSchema | undefined;
  return {
    open: async () => {
      schema = await migratedSchema(url());
      return open(schema.target);
    },
    cleanup: async () => {
      await schema?.drop();
    },
  };
}

/** A describe block with PGlite (+pgvector) served over the wire protocol for its tests; `url()` is where. */
export function describeOnPglite(title: string, register: (url: () => string) => void): void {
  describe(title, () => {
    let server: PgliteServer | undefined;
    beforeAll(async () => {
      server = await startPglite();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });
    register(() => {
      if (!server) throw new Error("PGlite did not start");
      return server.url;
    });
  });
}
