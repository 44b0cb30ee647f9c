// The DuckDB ledger's append (inserted / exists / conflict) and its paged scan: every row exactly once, in
// (created_at, context_id) order, also when many rows share a created_at across page boundaries.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isFabraError } from "../src/errors.js";
import { DuckDBRecordStore } from "../src/stores/records/duckdb.js";
import type { LedgerRow } from "../src/stores/types.js";

let dir: string;
let store: DuckDBRecordStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fabra-ledger-"));
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
    const instants = ["2024-05-01T09:00:00Z", "2024-05-01T09:00:00.000001Z", "2024-05-01T09:00:01.5Z", "2024-05-02T00:00:00Z"];
    const rows = Array.from({ length: 37 }, (_, i) => row(36 - i, instants[(i * 7) % instants.length] as string));
    for (const r of rows) await store.append(r);
    const all = [...rows, row(9001, "2024-05-01T10:00:00Z")];
    const micros = (t: string) => BigInt(Date.parse(t)) * 1000n + BigInt(/\.\d{3}(\d{3})Z$/.exec(t)?.[1] ?? "0");
    const before = (a: LedgerRow, b: LedgerRow) =>
      micros(a.createdAt) === micros(b.createdAt) ? a.contextId < b.contextId : micros(a.createdAt) < micros(b.createdAt);
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
});
