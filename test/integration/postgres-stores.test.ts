// Postgres specifics on the real server: migrations (idempotent, concurrent, checked), the append-only ledger
// enforced by the database, clear errors before any work, and a dropped connection that the pool recovers from.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyLedgerRow } from "../../src/engine/ledger/verify-rows.js";
import { FabraError } from "../../src/errors.js";
import { open as openPg, type PostgresRecordStore } from "../../src/stores/postgres/records.js";
import { MIGRATIONS } from "../../src/stores/postgres/migrations/index.js";
import { applyMigrations, migrationStatus } from "../../src/stores/postgres/migrate.js";
import { PgDatabase, type PgTarget } from "../../src/stores/postgres/pool.js";
import { specVectorRows, syntheticRow } from "../contract/record-store.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { dropSchema, freePort, POSTGRES_URL, postgresUp, proxiedPostgres, uniqueName } from "../helpers/services.js";

const up = await postgresUp();

async function sql(query: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await client.query(query, params);
  } finally {
    await client.end();
  }
}

describe.skipIf(!up)("Postgres migrations", () => {
  const schemas: string[] = [];
  const target = (): PgTarget => {
    const schema = uniqueName();
    schemas.push(schema);
    return { url: POSTGRES_URL, schema, service: "stores.offline" };
  };
  afterAll(async () => {
    for (const s of schemas) await dropSchema(POSTGRES_URL, s);
  });

  it("applies every migration once, then nothing; a store refuses to open before it", async () => {
    const t = target();
    const early = await openPg(t).catch((e: unknown) => e);
    expect((early as FabraError).code).toBe("SCHEMA_OUTDATED");
    expect((early as FabraError).hint).toContain("fabra migrate");
    expect((early as FabraError).message).toContain(t.schema);

    const db = await PgDatabase.open(t);
    try {
      const first = await applyMigrations(db);
      expect(first.applied.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
      const again = await applyMigrations(db);
      expect(again.applied).toEqual([]);
      expect(again.alreadyApplied).toBe(MIGRATIONS.length);
      const status = await migrationStatus(db);
      expect(status.pending).toEqual([]);
      expect(status.changed).toEqual([]);
    } finally {
      await db.close();
    }
    const store = await openPg(t);
    await store.close();
  });

  it("is safe when many processes migrate at once (advisory lock): one row per version", async () => {
    const t = target();
    // Separate pools, like separate processes.
    const dbs = await Promise.all(
      Array.from({ length: 5 }, (_, i) => PgDatabase.open({ ...t, url: `${POSTGRES_URL}?application_name=m${i}` })),
    );
    try {
      const results = await Promise.all(dbs.map((db) => applyMigrations(db)));
      expect(results.reduce((n, r) => n + r.applied.length, 0)).toBe(MIGRATIONS.length);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
    const rows = await sql(
      `SELECT version, count(*)::int AS n FROM ${pg.escapeIdentifier(t.schema)}.fabra_migrations GROUP BY version ORDER BY version`,
    );
    expect(rows.rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, n: 1 })));
  });

  it("rolls back a failing migration whole and names it; refuses an edited released migration", async () => {
    const t = target();
    const db = await PgDatabase.open(t);
    try {
      const broken = [
        ...MIGRATIONS,
        {
          version: 99,
          name: "broken",
          up: ["CREATE TABLE {{schema}}.half_done (x int)", "SELECT * FROM no_such_table"],
        },
      ];
      const err = await applyMigrations(db, broken).catch((e: unknown) => e);
      expect((err as FabraError).code).toBe("MIGRATION_FAILED");
      expect((err as FabraError).message).toContain("migration 99 (broken)");
      const half = await sql("SELECT to_regclass($1) AS t", [`${t.schema}.half_done`]);
      expect(half.rows[0].t).toBeNull();
      expect((await migrationStatus(db, broken)).pending.map((m) => m.version)).toEqual([99]);

      const edited = MIGRATIONS.map((m) => (m.version === 1 ? { ...m, up: [...m.up, "SELECT 1"] } : m));
      const changed = await applyMigrations(db, edited).catch((e: unknown) => e);
      expect((changed as FabraError).code).toBe("MIGRATION_FAILED");
      expect((changed as FabraError).message).toMatch(/Migration 1 .* differ/);
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(!up)("Postgres ledger", () => {
  let schema: TestSchema;
  let store: PostgresRecordStore;
  beforeAll(async () => {
    schema = await migratedSchema(POSTGRES_URL);
    store = await openPg(schema.target);
  });
  afterAll(async () => {
    await store?.close();
    await schema?.drop();
  });

  it("is append-only in the database itself: UPDATE, DELETE and TRUNCATE are refused", async () => {
    const row = specVectorRows()[0]?.row;
    if (!row) throw new Error("no spec vectors");
    await store.append(row);
    const table = `${pg.escapeIdentifier(schema.target.schema)}.fabra_context_records`;
    for (const statement of [
      `UPDATE ${table} SET canonical_text = canonical_text || ' ' WHERE context_id = $1`,
      `DELETE FROM ${table} WHERE context_id = $1`,
    ]) {
      await expect(sql(statement, [row.contextId])).rejects.toThrow(/append-only/);
    }
    await expect(sql(`TRUNCATE ${table}`)).rejects.toThrow(/append-only/);
    expect(await store.get(row.contextId)).toEqual(row);
  });

  it("stores canonical text as text, never re-encoded (no jsonb as the hash source)", async () => {
    const types = await sql(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'fabra_context_records'",
      [schema.target.schema],
    );
    const byName = Object.fromEntries(
      types.rows.map((r: { column_name: string; data_type: string }) => [r.column_name, r.data_type]),
    );
    expect(byName.canonical_text).toBe("text");
    expect(byName.created_at).toBe("timestamp with time zone");
  });
});

describe.skipIf(!up)("Postgres failures", () => {
  it("an unreachable server fails at open, naming the service and the URL with the password masked", async () => {
    const port = await freePort();
    const url = `postgres://fabra:s3cret-pw@127.0.0.1:${port}/fabra`;
    const err = await openPg({ url, schema: "public", service: "stores.offline" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FabraError);
    const e = err as FabraError;
    expect(e.code).toBe("STORE_UNAVAILABLE");
    expect(e.message).toContain("stores.offline");
    expect(e.message).toContain(`postgres://fabra:***@127.0.0.1:${port}/fabra`);
    expect(`${e.message} ${e.hint}`).not.toContain("s3cret-pw");
    expect(e.hint).toMatch(/FABRA_POSTGRES_URL/);
  });

  it("a missing database is named with how to create it", async () => {
    const err = await openPg({
      url: POSTGRES_URL.replace(/\/[^/]*$/, `/${uniqueName("nodb")}`),
      schema: "public",
      service: "stores.offline",
    }).catch((e: unknown) => e);
    expect((err as FabraError).code).toBe("STORE_UNAVAILABLE");
    expect((err as FabraError).hint).toMatch(/createdb/);
  });

  it("connections dropped mid-run and restored: the pool recovers and no partial record is ever written", async () => {
    const { proxy, url: viaProxy } = await proxiedPostgres(POSTGRES_URL);
    const schema = await migratedSchema(POSTGRES_URL);
    const store = await openPg({ ...schema.target, url: viaProxy });
    try {
      const rows = Array.from({ length: 60 }, (_, i) =>
        syntheticRow(5000 + i, `2025-05-05T05:05:05.${String(i).padStart(6, "0")}Z`, "fault"),
      );
      for (const r of rows.slice(0, 20)) expect(await store.append(r)).toBe("inserted");

      // Cut every connection while appends are in flight, keep it down for a moment, then restore.
      const inflight = rows.slice(20, 40).map((r) =>
        store.append(r).then(
          () => "ok",
          (e: unknown) => e,
        ),
      );
      proxy.cut();
      const during = await Promise.all(inflight);
      const failures = during.filter((o): o is FabraError => o !== "ok");
      for (const f of failures) {
        expect(f).toBeInstanceOf(FabraError);
        expect(f.code).toBe("STORE_UNAVAILABLE");
        expect(f.message).toContain("stores.offline");
      }
      const whileDown = await store.append(rows[40] as (typeof rows)[number]).catch((e: unknown) => e);
      expect((whileDown as FabraError).code).toBe("STORE_UNAVAILABLE");
      proxy.restore();

      // The pool recovers by itself: new appends and reads work, and re-appending is safe (inserted or exists).
      for (const r of rows.slice(20)) expect(["inserted", "exists"]).toContain(await store.append(r));
      expect(await store.count({ contextFunction: "fault" })).toBe(60);
      for (const r of rows) expect(await store.get(r.contextId)).toEqual(r);
      const direct = await sql(
        `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema.target.schema)}.fabra_context_records WHERE context_function = 'fault'`,
      );
      expect(direct.rows[0].n).toBe(60);
      for (const vector of specVectorRows()) {
        await store.append(vector.row);
        expect(
          verifyLedgerRow((await store.get(vector.row.contextId)) as NonNullable<Awaited<ReturnType<typeof store.get>>>)
            .ok,
        ).toBe(true);
      }
    } finally {
      await store.close();
      await proxy.close();
      await schema.drop();
    }
  });
});
