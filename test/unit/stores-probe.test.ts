// `fabra doctor`'s store checks come from the stores' own probes, through the registry: each store of a local
// project reports a line; a store that cannot open is one failing line with its fix, and the others still report.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { probeStores } from "../../src/stores/index.js";

const dir = mkdtempSync(join(tmpdir(), "fabra-probe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const local = (path: string) => ({
  stores: {
    offline: { type: "duckdb" as const, path },
    online: { type: "memory" as const },
    vector: { type: "memory" as const },
  },
});

describe("probeStores", () => {
  it("reports each store of a local project", async () => {
    const path = join(dir, "ok.duckdb");
    const checks = await probeStores(local(path), { dimensions: 3 });
    expect(checks).toEqual([
      { name: "stores.offline (DuckDB)", state: "ok", detail: `${path}: opened for writing, 0 records` },
      { name: "feature history (DuckDB)", state: "ok", detail: `${path}: 0 feature values, 0 materialization runs` },
      { name: "stores.online", state: "ok", detail: "memory: in-process cache (one process; use redis for several)" },
      {
        name: "stores.vector",
        state: "ok",
        detail: "memory: exact cosine search in process, chunks kept in the local DuckDB file",
      },
      {
        name: "stores.vector.ann",
        state: "ok",
        detail: `HNSW (hnswlib-node) for indexes of 50,000+ chunks, built by \`fabra index add\`, saved in ${path}.ann; exact search below that or while a graph is stale`,
      },
    ]);
  });

  it("a store that cannot open is a failing line with its fix; the others still report", async () => {
    const path = join(dir, "newer.duckdb");
    const instance = await DuckDBInstance.create(path);
    const c = await instance.connect();
    await c.run("CREATE TABLE fabra_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)");
    await c.run("INSERT INTO fabra_meta VALUES ('schema_version', '999')");
    c.closeSync();
    instance.closeSync();
    const checks = await probeStores(local(path), { dimensions: 3 });
    const failed = checks.filter((check) => check.state === "fail");
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]).toMatchObject({
      name: "stores.offline (DuckDB)",
      detail: expect.stringContaining("schema version 999"),
      fix: expect.stringContaining("FABRA_DUCKDB_PATH"),
    });
    expect(checks).toContainEqual(expect.objectContaining({ name: "stores.online", state: "ok" }));
  });
});
