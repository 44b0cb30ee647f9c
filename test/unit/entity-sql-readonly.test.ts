// A feature's `entities: { sql }` on DuckDB runs as ONE SELECT, read-only: a script that would empty the ledger, or a
// statement that writes, is an INVALID_DEFINITION naming the feature, and the ledger is left exactly as it was.
import { afterEach, describe, expect, it } from "vitest";
import { context, createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import type { DuckDBOfflineStore } from "../../src/stores/duckdb/offline.js";
import { tempFile } from "../helpers/temp.js";

const open: FabraRuntime[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

const user = entity("user");
const chat = context({ inputs: { userId: "string" } }, ({ userId }: { userId: string }) => [
  { content: `hello ${userId}`, required: true },
]);

async function withEntities(sql: string): Promise<FabraRuntime> {
  const tier = feature({ entity: user, materialize: true, entities: { sql } }, (id: string) => id.toUpperCase());
  const path = tempFile("fabra-entity-sql-", "fabra.duckdb");
  const fabra = await createFabra({
    definitions: { user, tier, chat },
    stores: { offline: { type: "duckdb", path } },
    warn: () => {},
  });
  open.push(fabra);
  return fabra;
}

const ATTACKS: [string, string, RegExp][] = [
  [
    "a script that empties the ledger",
    "SELECT 'u1' AS id; DELETE FROM fabra_context_records; SELECT 'u2' AS id",
    /must be one SELECT statement; it is 3 statements/,
  ],
  [
    "a DELETE",
    "DELETE FROM fabra_context_records",
    /must be one SELECT statement; it is a statement other than SELECT/,
  ],
  ["a DROP", "DROP TABLE fabra_context_records", /must be one SELECT statement/],
  [
    "a break-out of the wrapping query",
    "SELECT 1) AS x; DELETE FROM fabra_context_records; SELECT (1",
    /one SELECT|entities query failed/,
  ],
  [
    "a write hidden in a CTE",
    "WITH gone AS (DELETE FROM fabra_context_records RETURNING context_id) SELECT context_id FROM gone",
    /entities query/,
  ],
];

describe("entities { sql } on DuckDB is one read-only SELECT", () => {
  it.each(ATTACKS)("%s: INVALID_DEFINITION naming the feature; the ledger is intact", async (_label, sql, reason) => {
    const fabra = await withEntities(sql);
    const made = await fabra.runContext("chat", { userId: "u1" });
    const before = await fabra.ledger.count();
    expect(before).toBe(1);
    const outcome = await fabra.materialize().then(
      (results) => results,
      (err: unknown) => err,
    );
    // Whether the run reports it or throws it, the feature is named and the reason given.
    const error =
      outcome instanceof Error
        ? outcome
        : (outcome as { feature: string; error?: string; status: string }[]).find((r) => r.feature === "tier");
    expect(
      JSON.stringify(
        error instanceof Error ? { message: error.message, code: (error as { code?: string }).code } : error,
      ),
    ).toMatch(/tier/);
    expect(JSON.stringify(error instanceof Error ? error.message : error)).toMatch(reason);
    expect(await fabra.ledger.count()).toBe(before);
    expect((await fabra.ledger.verify(made.record.context_id)).verification.ok).toBe(true);
  });

  it("the store refuses it directly, before anything runs", async () => {
    const fabra = await withEntities("SELECT 'u1'");
    await fabra.runContext("chat", { userId: "u1" });
    const store = fabra.stores.offline as DuckDBOfflineStore;
    await expect(store.queryEntityIds("SELECT 'a'; DELETE FROM fabra_context_records")).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
    });
    await expect(
      store.queryEntityIds("INSERT INTO fabra_feature_values SELECT * FROM fabra_feature_values"),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
    });
    expect(await fabra.ledger.count()).toBe(1);
    expect(await store.queryEntityIds("SELECT 'a' AS id UNION ALL SELECT 'b';")).toEqual(["a", "b"]);
  });
});
