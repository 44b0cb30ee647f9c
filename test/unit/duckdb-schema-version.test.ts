// The schema version of local DuckDB files: a file from before versions is upgraded in place (its records kept),
// a file written by a newer fabra is refused with an error naming the file and how to fix it, and left untouched.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { DUCKDB_SCHEMA_VERSION } from "../../src/stores/duckdb/schema-version.js";
import {
  extendTree,
  inclusionProof,
  inclusionRanges,
  leafHash,
  nodeId,
  rangeNodes,
  treeHash,
  verifyInclusion,
} from "../../src/tlog/merkle.js";
import { openOfflineStore, openRecordStore } from "../../src/stores/index.js";

const dir = mkdtempSync(join(tmpdir(), "fabra-duck-version-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (path: string) => ({
  stores: {
    offline: { type: "duckdb" as const, path },
    online: { type: "memory" as const },
    vector: { type: "memory" as const },
  },
});

/** Runs SQL on the file directly, as another program (or an older / newer fabra) would. */
async function raw<T = Record<string, unknown>>(path: string, statements: string[]): Promise<T[]> {
  const instance = await DuckDBInstance.create(path);
  const c = await instance.connect();
  try {
    let rows: T[] = [];
    for (const sql of statements) rows = (await c.runAndReadAll(sql)).getRowObjectsJS() as T[];
    return rows;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe("DuckDB schema version", () => {
  it("stamps a new file with the current version", async () => {
    const path = join(dir, "new.duckdb");
    await (await openRecordStore(config(path))).close();
    const rows = await raw<{ key: string; value: string }>(path, ["SELECT key, value FROM fabra_meta ORDER BY key"]);
    expect(rows.find((r) => r.key === "schema_version")?.value).toBe(String(DUCKDB_SCHEMA_VERSION));
    expect(rows.find((r) => r.key === "fabra_version")?.value).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("upgrades a file from before versions (no fabra_meta) in place, keeping its records", async () => {
    const path = join(dir, "old.duckdb");
    await raw(path, [
      `CREATE TABLE fabra_context_records (context_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL, context_function VARCHAR NOT NULL,
         environment VARCHAR NOT NULL, token_count BIGINT NOT NULL, record_hash VARCHAR NOT NULL, previous_context_id VARCHAR, canonical_text VARCHAR NOT NULL)`,
      "INSERT INTO fabra_context_records VALUES ('ctx_old', TIMESTAMP '2026-01-02 03:04:05', 'chat', 'development', 3, 'sha256:x', NULL, '{}')",
    ]);
    const records = await openRecordStore(config(path));
    try {
      expect(await records.count()).toBe(1);
      expect((await records.get("ctx_old"))?.createdAt).toBe("2026-01-02T03:04:05Z");
    } finally {
      await records.close();
    }
    const version = await raw<{ value: string }>(path, ["SELECT value FROM fabra_meta WHERE key = 'schema_version'"]);
    expect(version[0]?.value).toBe(String(DUCKDB_SCHEMA_VERSION));
    // Version 3: the `imported` column, false for the rows already there.
    expect(await raw(path, ["SELECT context_id, imported FROM fabra_context_records"])).toEqual([
      { context_id: "ctx_old", imported: false },
    ]);
  });

  it("version 4: history of a version 1 file gets known_at = computed_at, and reads and joins as before", async () => {
    const path = join(dir, "history-v1.duckdb");
    await raw(path, [
      "CREATE TABLE fabra_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
      "INSERT INTO fabra_meta VALUES ('schema_version', '1'), ('fabra_version', '0.1.0')",
      `CREATE TABLE fabra_feature_values (feature VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, value_json VARCHAR NOT NULL,
         computed_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL, PRIMARY KEY (feature, entity_id, run_id))`,
      "INSERT INTO fabra_feature_values VALUES ('f', 'u1', '1', TIMESTAMP '2026-01-01 00:00:00', 'run_a')",
    ]);
    const store = await openOfflineStore({ type: "duckdb", path } as Parameters<typeof openOfflineStore>[0]);
    try {
      expect(await store.latest("f", "u1")).toMatchObject({
        valueJson: "1",
        computedAt: "2026-01-01T00:00:00Z",
        knownAt: "2026-01-01T00:00:00Z",
      });
      const keys = {
        kind: "keys" as const,
        entityIds: ["u1", "u1"],
        timestamps: ["2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z"],
      };
      expect((await store.pointInTime(keys, [{ name: "f" }], { knownTime: true })).values[0]).toEqual([null, "1"]);
      await store.writeValues([
        { feature: "f", entityId: "u2", valueJson: "2", computedAt: "2026-01-02T00:00:00Z", runId: "run_b" },
      ]);
    } finally {
      await store.close();
    }
    const unknown = await raw<{ n: bigint }>(path, [
      "SELECT count(*) AS n FROM fabra_feature_values WHERE known_at IS NULL OR (entity_id = 'u2' AND known_at <> computed_at)",
    ]);
    expect(unknown[0]?.n).toBe(0n);
  });

  it("version 6: a version-1 file's materialization runs get their attempt (1), and resuming one raises it", async () => {
    const path = join(dir, "runs-v1.duckdb");
    await raw(path, [
      "CREATE TABLE fabra_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
      "INSERT INTO fabra_meta VALUES ('schema_version', '1'), ('fabra_version', '0.1.0')",
      `CREATE TABLE fabra_materialize_runs (run_id VARCHAR PRIMARY KEY, feature VARCHAR NOT NULL, trigger VARCHAR NOT NULL,
         status VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, entities_written BIGINT NOT NULL DEFAULT 0,
         entities_failed BIGINT NOT NULL DEFAULT 0, error VARCHAR)`,
      "INSERT INTO fabra_materialize_runs VALUES ('run_old', 'score', 'manual', 'running', TIMESTAMP '2026-01-02 03:04:05', NULL, 2, 0, NULL)",
    ]);
    const offline = await openOfflineStore(config(path).stores.offline);
    try {
      expect((await offline.latestRuns(["score"]))[0]).toMatchObject({ runId: "run_old", attempt: 1 });
      expect(await offline.beginRun("score", "manual")).toMatchObject({
        resumed: true,
        run: { runId: "run_old", attempt: 2 },
      });
    } finally {
      await offline.close();
    }
    const version = await raw<{ value: string }>(path, ["SELECT value FROM fabra_meta WHERE key = 'schema_version'"]);
    expect(version[0]?.value).toBe(String(DUCKDB_SCHEMA_VERSION));
  });

  it.each([
    ["a version-6 file (no tiles yet)", "6", []],
    [
      "a version-9 file (tiles in the layout before slots)",
      "9",
      [
        "CREATE TABLE fabra_tlog_tiles (tile_key VARCHAR PRIMARY KEY, hashes VARCHAR NOT NULL)",
        "INSERT INTO fabra_tlog_tiles VALUES ('0/0', '0/0=00,0/1=11')",
      ],
    ],
  ])(
    "versions 7 and 10: %s has its stored subtree hashes filed into tiles by slot, which proofs then read",
    async (_, from, tiles) => {
      const path = join(dir, `tiles-v${from}.duckdb`);
      const leaves = Array.from({ length: 300 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
      const nodes = await extendTree(0, leaves, async () => []);
      await raw(path, [
        "CREATE TABLE fabra_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        `INSERT INTO fabra_meta VALUES ('schema_version', '${from}'), ('fabra_version', '0.1.0')`,
        "CREATE TABLE fabra_tlog_leaves (leaf_index BIGINT PRIMARY KEY, context_id VARCHAR NOT NULL UNIQUE)",
        "CREATE TABLE fabra_tlog_nodes (node_key VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL)",
        `INSERT INTO fabra_tlog_nodes VALUES ${nodes.map((n) => `('${nodeId(n.key)}', '${Buffer.from(n.hash).toString("hex")}')`).join(", ")}`,
        ...tiles,
      ]);
      const store = await openRecordStore(config(path));
      try {
        for (const leaf of [0, 1, 255, 256, 299]) {
          const keys = inclusionRanges(leaf, 300).flatMap(rangeNodes);
          const viaTiles = await store.readLogProofNodes?.(keys);
          expect(viaTiles?.map((h) => Buffer.from(h).toString("hex"))).toEqual(
            (await store.readLogNodes?.(keys))?.map((h) => Buffer.from(h).toString("hex")),
          );
          const root = await treeHash(300, (k) => store.readLogNodes?.(k) as Promise<Uint8Array[]>);
          const proof = await inclusionProof(leaf, 300, (k) => store.readLogProofNodes?.(k) as Promise<Uint8Array[]>);
          expect(verifyInclusion(leaf, 300, leaves[leaf] as Uint8Array, proof, root)).toBe(true);
        }
      } finally {
        await store.close();
      }
      // tiles 0/0, 0/1 and 1/0, one row each, holding every node (so proofs read none from the nodes table)
      const [count] = await raw<{ n: bigint; slots: bigint }>(path, [
        "SELECT count(*) AS n, sum(length(hashes)) // 64 AS slots FROM fabra_tlog_tiles",
      ]);
      expect(Number(count?.n)).toBe(3);
      expect(Number(count?.slots)).toBe(nodes.length);
    },
  );

  it("version 11: a version-10 file's leaf hashes move out of the nodes table, and the tree reads the same", async () => {
    const path = join(dir, "leaf-hashes-v10.duckdb");
    const leaves = Array.from({ length: 300 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const nodes = await extendTree(0, leaves, async () => []);
    const hex = (h: Uint8Array) => Buffer.from(h).toString("hex");
    await raw(path, [
      "CREATE TABLE fabra_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
      "INSERT INTO fabra_meta VALUES ('schema_version', '10'), ('fabra_version', '0.1.0')",
      "CREATE TABLE fabra_tlog_leaves (leaf_index BIGINT PRIMARY KEY, context_id VARCHAR NOT NULL UNIQUE)",
      `INSERT INTO fabra_tlog_leaves SELECT i, 'ctx_' || CAST(i AS VARCHAR) FROM range(0, 300) t(i)`,
      "CREATE TABLE fabra_tlog_nodes (node_key VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL)",
      // in key order, not leaf order (the upgrade files the leaf hashes by index)
      `INSERT INTO fabra_tlog_nodes VALUES ${[...nodes]
        .sort((a, b) => (nodeId(a.key) < nodeId(b.key) ? -1 : 1))
        .map((n) => `('${nodeId(n.key)}', '${hex(n.hash)}')`)
        .join(", ")}`,
    ]);
    const root = hex(
      await treeHash(300, async (keys) =>
        keys.map((k) => nodes.find((n) => nodeId(n.key) === nodeId(k))?.hash as Uint8Array),
      ),
    );
    const store = await openRecordStore(config(path));
    try {
      const read = (k: Parameters<NonNullable<typeof store.readLogNodes>>[0]) =>
        store.readLogNodes?.(k) as Promise<Uint8Array[]>;
      expect(hex(await treeHash(300, read))).toBe(root);
      expect(
        (
          await read([
            { level: 0, index: 299 },
            { level: 0, index: 0 },
          ])
        ).map(hex),
      ).toEqual([leaves[299], leaves[0]].map((h) => hex(h as Uint8Array)));
      const index: { index: number; id: string; leafHash: Uint8Array | null }[] = [];
      for await (const batch of store.scanLogIndex?.(128) ?? []) index.push(...batch);
      expect(index.map((e) => e.index)).toEqual(leaves.map((_, i) => i));
      expect(index.map((e) => (e.leafHash ? hex(e.leafHash) : null))).toEqual(leaves.map(hex));
    } finally {
      await store.close();
    }
    const [moved] = await raw<{ leaves: bigint; nodes: bigint; level0: bigint; ordered: boolean }>(path, [
      `SELECT (SELECT count(*) FROM fabra_tlog_leaf_hashes) AS leaves, (SELECT count(*) FROM fabra_tlog_nodes) AS nodes,
         (SELECT count(*) FROM fabra_tlog_nodes WHERE node_key LIKE '0/%') AS level0,
         (SELECT bool_and(leaf_index = rn - 1) FROM (SELECT leaf_index, row_number() OVER () AS rn FROM fabra_tlog_leaf_hashes)) AS ordered`,
    ]);
    expect(Number(moved?.leaves)).toBe(300);
    expect(Number(moved?.nodes)).toBe(nodes.length - 300);
    expect(Number(moved?.level0)).toBe(0);
    expect(moved?.ordered).toBe(true);
  });

  it("refuses a file written by a newer fabra, naming the file and the fix, and leaves it as it is", async () => {
    const path = join(dir, "newer.duckdb");
    const newer = String(DUCKDB_SCHEMA_VERSION + 1);
    await raw(path, [
      "CREATE TABLE fabra_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
      `INSERT INTO fabra_meta VALUES ('schema_version', '${newer}'), ('fabra_version', '99.0.0')`,
    ]);
    const error = await openRecordStore(config(path)).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({
      code: "MIGRATION_FAILED",
      message: expect.stringContaining(`${path} has fabra schema version ${newer} (written by fabra 99.0.0)`),
      hint: expect.stringMatching(/fabra 99\.0\.0 or newer.*FABRA_DUCKDB_PATH/),
    });
    const tables = await raw<{ name: string }>(path, [
      "SELECT table_name AS name FROM information_schema.tables ORDER BY 1",
    ]);
    expect(tables.map((t) => t.name)).toEqual(["fabra_meta"]);
    // Refused again on the next open: nothing was cached or half-written by the first attempt.
    await expect(openRecordStore(config(path))).rejects.toMatchObject({ code: "MIGRATION_FAILED" });
  });
});
