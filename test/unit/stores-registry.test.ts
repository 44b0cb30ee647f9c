// What the registry tells the rest of fabra about the configured stores, so nothing outside src/stores/ compares
// backend names: the file an embedded store holds, a line per store for banners (passwords masked), and the
// databases `fabra migrate` works on (a vector store in the offline store's schema counted once).
import { describe, expect, it } from "vitest";
import type { ResolvedConfig } from "../../src/config/resolve.js";
import { describeStores, embeddedFile, migrationTargets } from "../../src/stores/index.js";

type StoresConfig = ResolvedConfig["stores"];
const local = (path: string): StoresConfig => ({
  offline: { type: "duckdb", path },
  online: { type: "memory" },
  vector: { type: "memory" },
});
const production = (vectorSchema: string): StoresConfig => ({
  offline: { type: "postgres", url: "postgres://fabra:s3cret@db/fabra", poolSize: 4, schema: "app" },
  online: { type: "redis", url: "redis://:s3cret@cache:6379", keyPrefix: "fabra:", timeoutMs: 500 },
  vector: { type: "pgvector", url: "postgres://fabra:s3cret@db/fabra", schema: vectorSchema },
});

describe("the store registry", () => {
  it("names the file an embedded store holds, and none for a server or an in-memory database", () => {
    expect(embeddedFile(local("/p/fabra.duckdb"))).toBe("/p/fabra.duckdb");
    expect(embeddedFile(local(":memory:"))).toBeNull();
    expect(embeddedFile(production("app"))).toBeNull();
  });

  it("describes each store in one line, passwords masked", () => {
    expect(describeStores(local("/p/fabra.duckdb"))).toEqual({
      offline: "duckdb /p/fabra.duckdb",
      online: "memory (this process only)",
      vector: "memory (exact search; HNSW for large indexes)",
    });
    const shown = describeStores(production("app"));
    expect(shown.offline).toBe('postgres postgres://fabra:***@db/fabra, schema "app"');
    expect(shown.online).toBe('redis redis://:***@cache:6379, key prefix "fabra:"');
    expect(JSON.stringify(shown)).not.toContain("s3cret");
  });

  it("lists each Postgres database once for migrate, the vector store with the offline one when they share a schema", () => {
    expect(migrationTargets(local("/p/f.duckdb"))).toEqual([]);
    expect(migrationTargets(production("app")).map((t) => [t.target.service, t.target.schema, t.vector])).toEqual([
      ["stores.offline", "app", true],
    ]);
    expect(migrationTargets(production("vectors")).map((t) => [t.target.service, t.target.schema, t.vector])).toEqual([
      ["stores.offline", "app", false],
      ["stores.vector", "vectors", true],
    ]);
  });
});
