// The DuckDB ledger's append (inserted / exists / conflict), its paged scan (every row exactly once, in
// (created_at, context_id) order, also when many rows share a created_at across page boundaries), and its raw scan
// for verification (every row once across rowid pages; the store stays usable during it and after a caller stops).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isFabraError } from "../../src/errors.js";
import { fromEpochMicros } from "../../src/record/datetime.js";
import { DuckDBRecordStore } from "../../src/stores/duckdb/records.js";
import type { LedgerRow } from "../../src/stores/types.js";
import { tempDir } from "../helpers/temp.js";

let dir: string;
let store: DuckDBRecordStore;

beforeAll(async () => {
  dir = tempDir("fabra-ledger-");
  store = await DuckDBRecordStore.open(join(dir, "fabra.duckdb"));
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function row(n: number, createdAt: string, hash = `sha256:${n}`): LedgerRow {
  const id = `ctx_0190a1b2-0000-7000-8000-${String(n).padStart(12, "0")}`;
  return {
    contextId: id,
    createdAt,
    contextFunction: n % 2 === 0 ? "chat" : "search",
    environment: "development",
    tokenCount: n,
    recordHash: hash,
    previousContextId: null,
    canonicalText: `{"n":${n},"pad":"${"x".repeat(n * 7)}"}`,
  };
}

describe("DuckDB ledger", () => {
  it("appends once, treats the identical record again as a no-op and refuses a different one", async () => {
    const r = row(9001, "2024-05-01T10:00:00Z");
    expect(await store.append(r)).toBe("inserted");
    expect(await store.append(r)).toBe("exists");
    const err = await store.append({ ...r, recordHash: "sha256:other", canonicalText: "{}" }).catch((e: unknown) => e);
    expect(isFabraError(err) && err.code).toBe("RECORD_CONFLICT");
    expect((await store.get(r.contextId))?.canonicalText).toBe(r.canonicalText);
  });

  it("scans every row once in (created_at, context_id) order, across pages and created_at ties", async () => {
    // 4 distinct instants, many rows each (appended out of order), plus the row from the test above.
    const instants = [
      "2024-05-01T09:00:00Z",
      "2024-05-01T09:00:00.000001Z",
      "2024-05-01T09:00:01.5Z",
      "2024-05-02T00:00:00Z",
    ];
    const rows = Array.from({ length: 37 }, (_, i) => row(36 - i, instants[(i * 7) % instants.length] as string));
    for (const r of rows) await store.append(r);
    const all = [...rows, row(9001, "2024-05-01T10:00:00Z")];
    const micros = (t: string) => BigInt(Date.parse(t)) * 1000n + BigInt(/\.\d{3}(\d{3})Z$/.exec(t)?.[1] ?? "0");
    const before = (a: LedgerRow, b: LedgerRow) =>
      micros(a.createdAt) === micros(b.createdAt)
        ? a.contextId < b.contextId
        : micros(a.createdAt) < micros(b.createdAt);
    const expected = [...all].sort((a, b) => (before(a, b) ? -1 : 1)).map((r) => r.contextId);
    for (const batchSize of [1, 4, 5, 38, 1000]) {
      const seen: string[] = [];
      const texts = new Map<string, string>();
      for await (const batch of store.scan(batchSize)) {
        expect(batch.length).toBeLessThanOrEqual(batchSize);
        for (const r of batch) {
          seen.push(r.contextId);
          texts.set(r.contextId, r.canonicalText);
        }
      }
      expect(seen).toEqual(expected);
      for (const r of all) expect(texts.get(r.contextId)).toBe(r.canonicalText);
    }
  });

  it("scans raw rows with the store free between pages: appends go on meanwhile, and stopping early ends it", async () => {
    const total = await store.count();
    for (const batchSize of [1, 7, 5000]) {
      const ids = new Set<string>();
      for await (const batch of store.scanRaw(batchSize)) {
        expect(batch.length).toBeLessThanOrEqual(batchSize);
        for (const r of batch) ids.add(r.contextId);
      }
      expect(ids.size).toBe(total);
    }
    let appended = false;
    for await (const batch of store.scanRaw(3)) {
      expect(batch).toHaveLength(3);
      // The store's connection is free while a scan is in progress (no wait, no deadlock) ...
      expect(await store.append(row(7001, "2024-06-01T00:00:00Z"))).toBe("inserted");
      appended = true;
      break; // ... and stopping early ends the scan's read
    }
    expect(appended).toBe(true);
    expect(await store.count()).toBe(total + 1);
    let again = 0;
    for await (const batch of store.scanRaw()) again += batch.length;
    expect(again).toBe(total + 1);
    const bad = await (async () => {
      for await (const _ of store.scanRaw(0)) return null;
    })().catch((e: unknown) => e);
    expect(isFabraError(bad) && bad.code).toBe("INVALID_ARGUMENT");
  });

  it("scans raw rows across many pages, each row once with its own bytes, hash and created_at", async () => {
    const path = join(dir, "many.duckdb");
    await (await DuckDBRecordStore.open(path)).close();
    const n = 5000; // more than two pages of 2048 rows
    const instance = await DuckDBInstance.create(path);
    const c = await instance.connect();
    await c.run(`INSERT INTO fabra_context_records
      SELECT 'ctx_' || lpad(i::VARCHAR, 8, '0'), make_timestamp(1700000000000000 + (i * 7919) % ${n} * 1000), 'f', 'development', i,
             'sha256:' || i, NULL, '{"i":' || i || ',"pad":"' || repeat('x', i % 97) || '"}', false
      FROM range(${n}) t(i)`);
    // Rows whose BLOBs DuckDB stores inline (12 bytes or less): kept intact after later pages are read.
    await c.run(`INSERT INTO fabra_context_records
      SELECT 'c' || i, make_timestamp(1600000000000000 + i), 'f', 'development', 0, 'h' || i, NULL, '{}', false FROM range(3) t(i)`);
    c.closeSync();
    instance.closeSync();
    const many = await DuckDBRecordStore.open(path);
    try {
      const seen = new Map<string, { hash: string; text: string; createdAt: string }>();
      for await (const batch of many.scanRaw(1000)) {
        expect(batch.length).toBeLessThanOrEqual(1000);
        for (const r of batch) {
          expect(seen.has(r.contextId)).toBe(false);
          seen.set(r.contextId, {
            hash: r.recordHash,
            text: Buffer.from(r.canonicalBytes).toString("utf8"),
            createdAt: r.createdAt,
          });
        }
      }
      expect(seen.size).toBe(n + 3);
      for (const i of [0, 1, 2])
        expect(seen.get(`c${i}`)).toEqual({
          hash: `h${i}`,
          text: "{}",
          createdAt: fromEpochMicros(1600000000000000 + i),
        });
      for (const i of [0, 1, 2047, 2048, 4095, 4096, n - 1]) {
        const id = `ctx_${String(i).padStart(8, "0")}`;
        const row = await many.get(id);
        expect(seen.get(id)).toEqual({ hash: `sha256:${i}`, text: row?.canonicalText, createdAt: row?.createdAt });
      }
    } finally {
      await many.close();
    }
  });
});
