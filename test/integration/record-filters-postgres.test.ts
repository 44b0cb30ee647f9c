// On Postgres the record filters answer from indexes (migration 12): a feature-value or input lookup is a bitmap
// scan of the GIN index over the record's jsonb, and a replays-of lookup uses the previous_context_id index.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { open, type PostgresRecordStore } from "../../src/stores/postgres/records.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { sealedRow } from "../contract/record-store.js";

const pgUp = await postgresUp();

describe.skipIf(!pgUp)("record filters on Postgres", () => {
  let schema: TestSchema;
  let store: PostgresRecordStore;
  beforeAll(async () => {
    schema = await migratedSchema(POSTGRES_URL);
    store = await open(schema.target);
    for (let i = 0; i < 5; i++) await store.append(sealedRow(7000 + i, `2025-06-01T00:00:0${i}Z`));
  });
  afterAll(async () => {
    await store?.close();
    await schema?.drop();
  });

  /** The plan of `sql`, with sequential scans off so the planner shows which index it can use. */
  async function plan(sql: string, params: unknown[]): Promise<string> {
    return store.db.transaction(async (tx) => {
      await tx.query("SET LOCAL enable_seqscan = off");
      const rows = await tx.query<{ "QUERY PLAN": string }>(`EXPLAIN ${sql}`, params);
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
  }

  it("looks feature values and inputs up through the GIN indexes, replays through previous_context_id", async () => {
    const table = store.db.ident("fabra_context_records");
    const doc = `${store.db.ident("fabra_record_json")}(canonical_text)`;
    const where = (clause: string) => `SELECT context_id FROM ${table} WHERE ${clause}`;
    const tier = '[{"name":"userTier","value":"enterprise"}]';
    const features = await plan(where(`(${doc} -> 'features') @> $1::jsonb`), [tier]);
    expect(features).toContain("fabra_context_records_features");
    const inputs = await plan(where(`(${doc} -> 'inputs') @> $1::jsonb`), ['{"user_id":"u_1"}']);
    expect(inputs).toContain("fabra_context_records_inputs");
    const replays = await plan(where("previous_context_id = $1"), ["ctx_x"]);
    expect(replays).toContain("fabra_context_records_previous");
    // And the store's own query finds them (the plain vector's inputs: user_id u_1).
    expect(await store.count({ inputs: [{ name: "user_id", value: "u_1" }] })).toBe(5);
  });
});
