// Group commit on the real backends, beyond the contract: appends in flight really share commits (the store's
// counters), a lone append is a commit of its own, and on Postgres a commit that fails (the table locked past the
// statement timeout) fails every caller of its batch with one clear error and writes nothing; the same appends then
// land once the table is free.
import pg from "pg";
import { describe, expect, it } from "vitest";
import type { FabraError } from "../../src/errors.js";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { open as openPg } from "../../src/stores/postgres/records.js";
import { Ledger } from "../../src/engine/ledger/ledger.js";
import { rowToRecord } from "../../src/engine/ledger/rows.js";
import { sealedRow, syntheticRow } from "../contract/record-store.js";
import { migratedSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

const rows = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) =>
    syntheticRow(from + i, `2026-02-01T00:00:00.${String(from + i).padStart(5, "0")}1Z`),
  );

describe("group commit on DuckDB", () => {
  it("64 appends in flight take a few commits; appends one at a time take one commit each", async () => {
    const store = await openDuck(tempFile("fabra-group-commit-", "fabra.duckdb"));
    try {
      for (const r of rows(1, 5)) expect(await store.append(r)).toBe("inserted");
      expect(store.commitStats).toEqual({ commits: 5, rows: 5, largestBatch: 1 });
      const burst = rows(100, 64);
      expect(await Promise.all(burst.map((r) => store.append(r)))).toEqual(burst.map(() => "inserted"));
      expect(store.commitStats.commits - 5).toBeLessThanOrEqual(2);
      expect(store.commitStats.largestBatch).toBeGreaterThanOrEqual(32);
      expect(await store.count()).toBe(69);
    } finally {
      await store.close();
    }
  });
});

describe("group commit through the Ledger", () => {
  it("a record over the size limit fails alone; the batch's records are integrated into the log by the sequencer", async () => {
    const store = await openDuck(tempFile("fabra-group-commit-ledger-", "fabra.duckdb"));
    const ledger = new Ledger({
      records: () => store,
      signing: () => ({ mode: "optional", key: null }),
      maxRecordBytes: 8192,
    });
    const errors: unknown[] = [];
    const sequencer = ledger.integrateInBackground((err) => errors.push(err));
    try {
      const records = Array.from({ length: 40 }, (_, i) => {
        const row = sealedRow(500 + i, `2026-02-02T00:00:00.${String(i).padStart(5, "0")}1Z`);
        return { record: rowToRecord(row), text: row.canonicalText };
      });
      const big = rowToRecord(sealedRow(600, "2026-02-02T00:00:01.000001Z"));
      const oversized = { ...big, content: "x".repeat(10_000) };
      const settled = await Promise.allSettled([
        ...records.slice(0, 20).map((r) => ledger.append(r.record, r.text)),
        ledger.append(oversized),
        ...records.slice(20).map((r) => ledger.append(r.record, r.text)),
      ]);
      expect(
        settled.filter((s) => s.status === "fulfilled").map((s) => (s as PromiseFulfilledResult<string>).value),
      ).toEqual(records.map(() => "inserted"));
      const refused = settled[20] as PromiseRejectedResult;
      expect((refused.reason as FabraError).code).toBe("PAYLOAD_TOO_LARGE");
      expect(await store.count()).toBe(40);
      expect(await store.get(oversized.context_id)).toBeNull();
      await sequencer.idle();
      expect(errors).toEqual([]);
      expect(await store.logSize()).toBe(40);
    } finally {
      await sequencer.idle();
      await store.close();
    }
  });
});

const pgUp = await postgresUp();
describe.skipIf(!pgUp)("group commit on Postgres", () => {
  it("64 appends in flight take a few commits", async () => {
    const schema = await migratedSchema(POSTGRES_URL);
    const store = await openPg(schema.target);
    try {
      const burst = rows(100, 64);
      expect(await Promise.all(burst.map((r) => store.append(r)))).toEqual(burst.map(() => "inserted"));
      expect(store.commitStats.commits).toBeLessThanOrEqual(2);
      expect(await store.count()).toBe(64);
    } finally {
      await store.close();
      await schema.drop();
    }
  });

  it("a failed commit fails all of its callers with one clear error and writes nothing", async () => {
    const schema = await migratedSchema(POSTGRES_URL);
    // A pool of its own (pools are per URL) whose statements give up after 300 ms.
    const url = `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}application_name=fabra_group_commit_test`;
    const store = await openPg({ ...schema.target, url, statementTimeoutMs: 300 });
    const locker = new pg.Client({ connectionString: POSTGRES_URL });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE ${pg.escapeIdentifier(schema.target.schema)}.fabra_context_records`);
      const lone = store.append(rows(1, 1)[0] as ReturnType<typeof syntheticRow>).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50)); // the lone append's commit is waiting on the lock
      const batch = rows(10, 12);
      const settled = await Promise.allSettled(batch.map((r) => store.append(r)));
      expect(settled.map((s) => s.status)).toEqual(batch.map(() => "rejected"));
      const reasons = new Set(settled.map((s) => (s as PromiseRejectedResult).reason as FabraError));
      expect(reasons.size).toBe(1);
      const err = [...reasons][0] as FabraError;
      expect(err.code).toBe("STORE_UNAVAILABLE");
      expect(err.message).toMatch(
        /the commit of 12 records appended together failed, and none of them was written: .*did not answer in time/,
      );
      expect(err.hint).toMatch(/Appending the same records again is safe/);
      expect(((await lone) as FabraError).code).toBe("STORE_UNAVAILABLE");
      await locker.query("ROLLBACK");
      expect(await store.count()).toBe(0);
      // Nothing was written, so the same appends now all insert.
      expect(await Promise.all(batch.map((r) => store.append(r)))).toEqual(batch.map(() => "inserted"));
    } finally {
      await locker.end();
      await store.close();
      await schema.drop();
    }
  });
});
