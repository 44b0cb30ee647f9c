// A feature whose history is a user-managed Postgres table (history: { table, ... }): found in fabra's schema or by
// its schema-qualified name (case folded as an unquoted CREATE TABLE folds it), joined in place by the LATERAL probe,
// values typed by the column's SQL type, a missing table or column an INVALID_DEFINITION at load naming it.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabra, entity, type FabraRuntime, feature } from "../../src/index.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";

const pgUp = await postgresUp();
const user = entity("user");

describe.skipIf(!pgUp)("warehouse history tables on Postgres", () => {
  let schema: TestSchema;
  let fabra: FabraRuntime;
  beforeAll(async () => {
    schema = await migratedSchema(POSTGRES_URL);
    const s = pg.escapeIdentifier(schema.target.schema);
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`CREATE TABLE ${s}.UserScores (user_id text, updated_at timestamp, learned_at timestamptz,
        score integer, ratio double precision, amount numeric, label varchar(20), doc jsonb, ok boolean, day date)`);
      await client.query(`INSERT INTO ${s}.userscores VALUES
        ('u1', '2026-01-01 00:00:00', '2026-01-01T00:00:00Z', 1, 12, 2.50, 'gold', '{"a": [1, 2.0]}', true, '2026-01-01'),
        ('u1', '2026-01-10 00:00:00', '2026-03-01T00:00:00Z', 2, 1e20, 'NaN', 'say "hi"', '[]', false, '2026-01-10'),
        ('u2', NULL, NULL, 9, NULL, NULL, NULL, NULL, NULL, NULL)`);
      await client.query(`CREATE INDEX ON ${s}.userscores (user_id, updated_at)`);
    } finally {
      await client.end();
    }
    const h = (valueColumn: string) => ({
      table: `${schema.target.schema}.UserScores`,
      entityColumn: "user_id",
      timestampColumn: "updated_at",
      valueColumn,
      knownTimeColumn: "learned_at",
    });
    const defs: Record<string, unknown> = { user };
    for (const c of ["score", "ratio", "amount", "label", "doc", "ok"])
      defs[c] = feature({ entity: user, history: h(c) }, () => -1);
    defs.bare = feature(
      {
        entity: user,
        history: { table: "userscores", entityColumn: "USER_ID", timestampColumn: "day", valueColumn: "day" },
      },
      () => -1,
    );
    fabra = await createFabra({
      stores: { offline: { type: "postgres", url: POSTGRES_URL, schema: schema.target.schema } },
      definitions: defs,
      warn: () => {},
    });
  });
  afterAll(async () => {
    await fabra?.close();
    await schema?.drop();
  });

  it("joins the table by event time and by known time, values typed by column type", async () => {
    const events = [
      { entity_id: "u1", timestamp: "2025-12-31T00:00:00Z" },
      { entity_id: "u1", timestamp: "2026-01-05T00:00:00Z" },
      { entity_id: "u1", timestamp: "2026-01-20T00:00:00Z" },
      { entity_id: "u2", timestamp: "2026-01-20T00:00:00Z" },
    ];
    const features = ["score", "ratio", "amount", "label", "doc", "ok", "bare"];
    const rows = await fabra.getTrainingData({ entities: events, features });
    expect(rows.map((r) => r.score)).toEqual([null, 1, 2, null]);
    expect(rows[1]).toMatchObject({
      ratio: 12,
      amount: 2.5,
      label: "gold",
      doc: { a: [1, 2] },
      ok: true,
      bare: "2026-01-01",
    });
    expect(rows[2]).toMatchObject({
      ratio: 1e20,
      amount: null,
      label: 'say "hi"',
      doc: [],
      ok: false,
      bare: "2026-01-10",
    });
    const known = await fabra.getTrainingData({ entities: events, features: ["score"], knownTime: true });
    expect(known.map((r) => r.score)).toEqual([null, 1, 1, null]);
    expect(await fabra.getFeatureAsOf("score", "u1", "2026-01-20T00:00:00Z", { knownTime: true })).toMatchObject({
      value: 1,
      joinedBy: "known_time",
    });
    // A float keeps its point in the stored text (12.0, not 12): read back through the store's own join.
    const raw = await fabra.stores.offline.pointInTime(
      { kind: "keys", entityIds: ["u1"], timestamps: ["2026-01-05T00:00:00Z"] },
      [
        {
          name: "ratio",
          table: {
            table: [schema.target.schema, "userscores"],
            entityColumn: "user_id",
            timestampColumn: "updated_at",
            valueColumn: "ratio",
          },
        },
      ],
    );
    expect(raw.values[0]).toEqual(["12.0"]);
  });

  it("a missing table or column is INVALID_DEFINITION at load, naming it", async () => {
    const load = (history: Record<string, unknown>) =>
      createFabra({
        stores: { offline: { type: "postgres", url: POSTGRES_URL, schema: schema.target.schema } },
        definitions: { user, f: feature({ entity: user, history } as never, () => 0) },
        warn: () => {},
      });
    await expect(
      load({ table: "userscore", entityColumn: "user_id", timestampColumn: "updated_at", valueColumn: "score" }),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/"userscore" does not exist/),
      hint: expect.stringMatching(/Did you mean "userscores"\?/),
    });
    await expect(
      load({ table: "userscores", entityColumn: "user", timestampColumn: "updated_at", valueColumn: "score" }),
    ).rejects.toMatchObject({ code: "INVALID_DEFINITION", message: expect.stringMatching(/has no column "user"/) });
  });
});
