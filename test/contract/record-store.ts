// The RecordStore contract: every ledger backend passes the same assertions (append-once semantics, byte-exact
// canonical text, filters, keyset pagination, scan).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordToRow } from "../../src/engine/ledger/rows.js";
import { scanRawRows, verifyLedger, verifyLedgerRow } from "../../src/engine/ledger/verify-rows.js";
import { FabraError } from "../../src/errors.js";
import { normalizeDatetime, readRecordText, sealRecord, verifyStored } from "../../src/record/index.js";
import { float, type JsonValue } from "../../src/record/json.js";
import type { ContextRecord } from "../../src/record/types.js";
import type { LedgerRow, RawLedgerRow, RecordStore } from "../../src/stores/types.js";

export interface RecordStoreHarness {
  /** A fresh, empty ledger. */
  open(): Promise<RecordStore>;
  cleanup?(): Promise<void>;
  /**
   * The store refuses rows that are not intact CRS-001 records (the remote store: its server verifies every
   * append), so the cases that append made-up rows append sealed records with the same columns instead.
   */
  verifiesAppends?: boolean;
  /** False: the store keeps no transparency log beside the ledger (the remote store). */
  keepsLog?: boolean;
}

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");

export function specVectorRows(): { name: string; row: LedgerRow; canonical: string }[] {
  return readdirSync(VECTORS)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const record = readRecordText(readFileSync(join(VECTORS, f), "utf8"));
      return {
        name: f,
        row: recordToRow(record),
        canonical: readFileSync(join(VECTORS, f.replace(/\.json$/, ".canonical.txt")), "utf8").replace(/\n$/, ""),
      };
    });
}

/** A synthetic row (the store does not parse canonical text; list/filter cases only need the columns). */
export function syntheticRow(i: number, createdAt: string, fn = "chat"): LedgerRow {
  const id = `ctx_0190a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, "0")}`;
  return {
    contextId: id,
    createdAt: normalizeDatetime(createdAt),
    contextFunction: fn,
    environment: "development",
    tokenCount: i,
    recordHash: `sha256:${String(i).padStart(64, "0")}`,
    previousContextId: null,
    canonicalText: `{"context_id":"${id}","n":${i},"text":"caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ end"}`,
  };
}

/** A sealed CRS-001 record (the `plain` vector, re-dated and renamed) with the columns syntheticRow(i, ...) has. */
export function sealedRow(i: number, createdAt: string, fn = "chat"): LedgerRow {
  const plain = readRecordText(readFileSync(join(VECTORS, "plain.json"), "utf8"));
  const { contextId } = syntheticRow(i, createdAt, fn);
  const { record, canonicalText } = sealRecord({
    ...plain,
    context_id: contextId,
    created_at: normalizeDatetime(createdAt),
    context_function: fn,
    token_count: i,
    assembly: { ...plain.assembly, tokens_used: i },
  });
  return recordToRow(record, canonicalText);
}

/** Another intact record under `row`'s id: its content differs, so its record_hash does. */
function conflictingRecord(row: LedgerRow): LedgerRow {
  const record = readRecordText(row.canonicalText);
  const sealed = sealRecord({ ...record, content: `${record.content} (altered)` });
  return recordToRow(sealed.record, sealed.canonicalText);
}

export function recordStoreContract(name: string, harness: RecordStoreHarness): void {
  /** Rows for the list and concurrency cases: made up, or sealed records where the store verifies appends. */
  const rowAt = harness.verifiesAppends ? sealedRow : syntheticRow;
  describe(`RecordStore contract: ${name}`, () => {
    let store: RecordStore;
    /** The rows the group-commit cases stored (made-up rows too: the whole-ledger verification expects them). */
    const groupRows: LedgerRow[] = [];
    beforeAll(async () => {
      store = await harness.open();
    });
    afterAll(async () => {
      await store?.close();
      await harness.cleanup?.();
    });

    it("declares its capabilities, and its probe passes with named checks, leaving nothing behind", async () => {
      for (const flag of ["concurrentWriters", "persistent", "sharedAcrossProcesses"] as const)
        expect(typeof store.capabilities[flag], flag).toBe("boolean");
      const before = await store.count();
      const checks = await store.probe();
      expect(checks.length).toBeGreaterThan(0);
      for (const check of checks) {
        expect(check.name).toMatch(/\S/);
        expect(check.detail).toMatch(/\S/);
        expect(check.state, `${check.name}: ${check.detail}`).not.toBe("fail");
      }
      expect(await store.count()).toEqual(before);
    });

    it("stores the CRS-001 spec vectors byte for byte, and they verify when read back", async () => {
      for (const { row, canonical, name: file } of specVectorRows()) {
        expect(await store.append(row), file).toBe("inserted");
        const back = await store.get(row.contextId);
        expect(back, file).toEqual(row);
        // The stored text is the record's canonical form; its hashing text is the vector's canonical text.
        expect(back?.canonicalText).toBe(row.canonicalText);
        expect(verifyStored(back?.canonicalText ?? "", file).ok, file).toBe(true);
        expect(verifyLedgerRow(back as LedgerRow).ok, file).toBe(true);
        expect(canonical.length).toBeGreaterThan(0);
      }
    });

    it("appending the identical record again is a no-op; a different hash for the same id is RECORD_CONFLICT naming both hashes", async () => {
      const [first] = specVectorRows();
      const row = (first as { row: LedgerRow }).row;
      expect(await store.append(row)).toBe("exists");
      const other = harness.verifiesAppends
        ? conflictingRecord(row)
        : { ...row, recordHash: "sha256:" + "f".repeat(64), canonicalText: row.canonicalText.replace("}", ',"x":1}') };
      const err = await store.append(other).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FabraError);
      expect((err as FabraError).code).toBe("RECORD_CONFLICT");
      expect((err as FabraError).message).toContain(row.recordHash);
      expect((err as FabraError).message).toContain(other.recordHash);
      expect((await store.get(row.contextId))?.canonicalText).toBe(row.canonicalText);
    });

    it("concurrent appends of one record: exactly one inserts, the rest find it", async () => {
      const row = rowAt(900, "2024-06-01T00:00:00.5Z", "race");
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.append(row)));
      expect(outcomes.filter((o) => o === "inserted")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "exists")).toHaveLength(7);
      expect(await store.count({ contextFunction: "race" })).toBe(1);
    });

    it("finds a record by its record_hash (the spec vectors appended above), null for an unknown hash", async () => {
      for (const { row, name: file } of specVectorRows()) {
        expect(await store.getByHash(row.recordHash), file).toEqual(row);
      }
      expect(await store.getByHash(`sha256:${"e".repeat(64)}`)).toBeNull();
    });

    it("returns null for an unknown id", async () => {
      expect(await store.get("ctx_0190a1b2-c3d4-7e5f-8a9b-ffffffffffff")).toBeNull();
    });

    describe("group commit: appends in flight share commits, and each settles on its own", () => {
      // Rows of their own function and year (2023), so the list cases below never meet them.
      // Six fraction digits always (a trailing 1), so the text sorts as the instants do.
      const at = (i: number) => `2023-05-01T00:00:00.${String(i).padStart(3, "0")}001Z`;
      const mine = (i: number) => rowAt(3000 + i, at(i), "group");
      const otherVersion = (row: LedgerRow): LedgerRow =>
        harness.verifiesAppends
          ? conflictingRecord(row)
          : {
              ...row,
              recordHash: `sha256:${"f".repeat(64)}`,
              canonicalText: row.canonicalText.replace("}", ',"x":1}'),
            };

      it("64 concurrent appends all land, each byte for byte", async () => {
        const rows = Array.from({ length: 64 }, (_, i) => mine(i));
        const outcomes = await Promise.all(rows.map((r) => store.append(r)));
        expect(outcomes).toEqual(rows.map(() => "inserted"));
        groupRows.push(...rows);
        expect(await store.count({ contextFunction: "group" })).toBe(64);
        for (const r of rows) expect(await store.get(r.contextId)).toEqual(r);
      });

      it("a refused append fails only its caller: conflicts, twins and a row the database refuses leave the rest committed", async () => {
        const fresh = Array.from({ length: 32 }, (_, i) => mine(100 + i));
        const stored = mine(0); // appended above
        const twin = mine(200);
        const rival = mine(201);
        const rivalOther = otherVersion(rival);
        // A created_at no database takes (the store does not parse it): only a store that appends made-up rows.
        const badDate = { ...mine(202), createdAt: "2023-13-45T99:00:00.000000Z" };
        const calls: { row: LedgerRow; expect: "inserted" | "exists" | "conflict" | "refused" | "rival" }[] = [
          ...fresh.slice(0, 16).map((row) => ({ row, expect: "inserted" as const })),
          { row: otherVersion(stored), expect: "conflict" },
          { row: stored, expect: "exists" },
          { row: twin, expect: "inserted" },
          { row: twin, expect: "exists" },
          { row: rival, expect: "rival" },
          { row: rivalOther, expect: "rival" },
          ...(harness.verifiesAppends ? [] : [{ row: badDate, expect: "refused" as const }]),
          ...fresh.slice(16).map((row) => ({ row, expect: "inserted" as const })),
        ];
        const settled = await Promise.allSettled(calls.map((c) => store.append(c.row)));
        const rivals: PromiseSettledResult<unknown>[] = [];
        settled.forEach((s, i) => {
          const call = calls[i] as (typeof calls)[number];
          const what = `${call.expect} ${call.row.contextId}`;
          if (call.expect === "inserted" || call.expect === "exists") {
            expect(s, what).toEqual({ status: "fulfilled", value: call.expect });
          } else if (call.expect === "conflict") {
            expect(s.status, what).toBe("rejected");
            expect(((s as PromiseRejectedResult).reason as FabraError).code, what).toBe("RECORD_CONFLICT");
            expect(((s as PromiseRejectedResult).reason as FabraError).message).toContain(stored.recordHash);
          } else if (call.expect === "refused") {
            expect(s.status, what).toBe("rejected");
            expect((s as PromiseRejectedResult).reason, what).toBeInstanceOf(FabraError);
          } else rivals.push(s);
        });
        // Two records under one id in flight together: exactly one is stored, the other is a conflict naming both.
        expect(
          rivals.filter((s) => s.status === "fulfilled").map((s) => (s as PromiseFulfilledResult<unknown>).value),
        ).toEqual(["inserted"]);
        const lost = rivals.find((s) => s.status === "rejected") as PromiseRejectedResult;
        expect((lost.reason as FabraError).code).toBe("RECORD_CONFLICT");
        expect((lost.reason as FabraError).message).toContain(rival.recordHash);
        expect((lost.reason as FabraError).message).toContain(rivalOther.recordHash);
        const won = (await store.get(rival.contextId)) as LedgerRow;
        expect([rival.canonicalText, rivalOther.canonicalText]).toContain(won.canonicalText);

        for (const r of [...fresh, twin]) expect(await store.get(r.contextId), r.contextId).toEqual(r);
        expect(await store.get(stored.contextId)).toEqual(stored);
        expect(await store.get(badDate.contextId)).toBeNull();
        expect(await store.count({ contextFunction: "group" })).toBe(64 + 32 + 2);
        groupRows.push(...fresh, twin, won.canonicalText === rival.canonicalText ? rival : rivalOther);
      });

      if (harness.keepsLog !== false)
        it("commits in arrival order: the transparency log integrates concurrent appends in the order they were made", async () => {
          if (!store.integrateLog || !store.scanLogLeaves) throw new Error("this store keeps no transparency log");
          const before = await store.integrateLog();
          // Four waves of 16 in flight, created_at rising with each call, sequencer steps running meanwhile.
          const rows = Array.from({ length: 64 }, (_, i) => mine(300 + i));
          for (let w = 0; w < 4; w++) {
            const wave = rows.slice(w * 16, w * 16 + 16);
            const outcomes = await Promise.all([...wave.map((r) => store.append(r)), store.integrateLog()]);
            expect(outcomes.slice(0, 16)).toEqual(wave.map(() => "inserted"));
          }
          groupRows.push(...rows);
          expect(await store.integrateLog()).toBe(before + rows.length);
          const leaves: string[] = [];
          for await (const batch of store.scanLogLeaves(50)) leaves.push(...batch.map((l) => l.contextId));
          expect(leaves.slice(before)).toEqual(rows.map((r) => r.contextId));
        });
    });

    describe("list, count, pagination and scan", () => {
      // 30 rows: microsecond timestamps, two functions, and ties on created_at broken by context_id.
      const rows: LedgerRow[] = Array.from({ length: 30 }, (_, i) => {
        const micros = String(100000 + Math.floor(i / 3) * 7).padStart(6, "0"); // three rows per instant
        return rowAt(100 + i, `2025-03-0${1 + (i % 2)}T12:00:00.${micros}Z`, i % 3 === 0 ? "summarize" : "chat");
      });
      const byTime = (dir: 1 | -1) => (a: LedgerRow, b: LedgerRow) =>
        dir * (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.contextId < b.contextId ? -1 : 1);

      beforeAll(async () => {
        // Insert in a shuffled order so list order cannot come from insertion order.
        const shuffled = [...rows].sort((a, b) => ((a.tokenCount * 7919) % 31) - ((b.tokenCount * 7919) % 31));
        for (const r of shuffled) expect(await store.append(r)).toBe("inserted");
      });

      const ours = { since: "2025-03-01T00:00:00Z", until: "2025-03-03T00:00:00Z" };

      it("keeps created_at to the microsecond and every column as written", async () => {
        for (const r of rows.slice(0, 6)) expect(await store.get(r.contextId)).toEqual(r);
      });

      it("lists newest first by default and oldest first with order asc, ties by context_id", async () => {
        const desc = await store.list({ ...ours, limit: 100 });
        expect(desc.map((r) => r.contextId)).toEqual([...rows].sort(byTime(-1)).map((r) => r.contextId));
        const asc = await store.list({ ...ours, order: "asc", limit: 100 });
        expect(asc.map((r) => r.contextId)).toEqual([...rows].sort(byTime(1)).map((r) => r.contextId));
      });

      it("filters by function and by [since, until)", async () => {
        const summarize = await store.list({ ...ours, contextFunction: "summarize", limit: 100 });
        expect(summarize.map((r) => r.contextId).sort()).toEqual(
          rows
            .filter((r) => r.contextFunction === "summarize")
            .map((r) => r.contextId)
            .sort(),
        );
        const pivot = [...rows].sort(byTime(1))[10] as LedgerRow;
        const since = await store.list({ since: pivot.createdAt, until: ours.until, limit: 100 });
        expect(since.every((r) => r.createdAt >= pivot.createdAt)).toBe(true);
        expect(since).toHaveLength(rows.filter((r) => r.createdAt >= pivot.createdAt).length);
        const until = await store.list({ since: ours.since, until: pivot.createdAt, limit: 100 });
        expect(until).toHaveLength(rows.filter((r) => r.createdAt < pivot.createdAt).length);
        expect(await store.count({ ...ours })).toBe(30);
        expect(await store.count({ ...ours, contextFunction: "chat" })).toBe(20);
        expect(await store.count({ since: pivot.createdAt, until: ours.until })).toBe(since.length);
      });

      for (const order of ["asc", "desc"] as const) {
        it(`pages with a keyset cursor (${order}): every row exactly once, in order`, async () => {
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let page = 0; page < 20; page++) {
            const batch = await store.list({ ...ours, order, limit: 7, cursor });
            seen.push(...batch.map((r) => r.contextId));
            if (batch.length < 7) break;
            cursor = batch[batch.length - 1]?.contextId;
          }
          expect(seen).toEqual([...rows].sort(byTime(order === "asc" ? 1 : -1)).map((r) => r.contextId));
        });
      }

      it("rejects a cursor that is not in the ledger and a bad limit", async () => {
        const bad = await store.list({ cursor: "ctx_0190a1b2-c3d4-7e5f-8a9b-eeeeeeeeeeee" }).catch((e: unknown) => e);
        expect((bad as FabraError).code).toBe("INVALID_ARGUMENT");
        const limit = await store.list({ limit: 0 }).catch((e: unknown) => e);
        expect((limit as FabraError).code).toBe("INVALID_ARGUMENT");
      });

      it("scans every row oldest first in batches", async () => {
        const total = await store.count();
        const batches: LedgerRow[][] = [];
        for await (const batch of store.scan(8)) batches.push(batch);
        const all = batches.flat();
        expect(all).toHaveLength(total);
        expect(batches.slice(0, -1).every((b) => b.length === 8)).toBe(true);
        const sorted = [...all].sort(byTime(1));
        expect(all.map((r) => r.contextId)).toEqual(sorted.map((r) => r.contextId));
        expect(new Set(all.map((r) => r.contextId)).size).toBe(total);
      });

      it("hands every row to verification once, as its canonical text's UTF-8 bytes (scanRaw, or scan() encoded)", async () => {
        const all: LedgerRow[] = [];
        for await (const batch of store.scan(8)) all.push(...batch);
        const raw: RawLedgerRow[] = [];
        for await (const batch of scanRawRows(store, 8)) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(8);
          raw.push(...batch);
        }
        expect(raw).toHaveLength(all.length);
        const byId = new Map(raw.map((r) => [r.contextId, r]));
        expect(byId.size).toBe(all.length);
        for (const row of all) {
          const r = byId.get(row.contextId) as RawLedgerRow;
          expect(Buffer.from(r.canonicalBytes).toString("utf8")).toBe(row.canonicalText);
          expect(r.recordHash).toBe(row.recordHash);
          expect(r.createdAt).toBe(row.createdAt);
        }
      });

      it("verifies the whole ledger: the records pass, rows that are not records are reported oldest first", async () => {
        const total = await store.count();
        const seen: number[] = [];
        const { checked, failures } = await verifyLedger(store, {}, (n) => seen.push(n));
        expect(checked).toBe(total);
        expect(seen[seen.length - 1]).toBe(total);
        // The spec vectors are intact; the synthetic rows (30 here, one from the concurrency case, dated 2024) hold
        // JSON that is not a CRS-001 record. A store that verifies appends holds sealed records only: none fails.
        const synthetic = harness.verifiesAppends
          ? []
          : [syntheticRow(900, "2024-06-01T00:00:00.5Z", "race"), ...groupRows, ...rows];
        expect(failures.map((f) => f.contextId)).toEqual(synthetic.sort(byTime(1)).map((r) => r.contextId));
        for (const f of failures) {
          expect(f.failed?.name).toBe("record_hash");
          expect(f.failed?.actual).toMatch(/^Not a CRS-001 record: field `created_at`/);
        }
      });
    });

    describe("filters on what records hold (in the database)", () => {
      const window = { since: "2025-05-01T00:00:00Z", until: "2025-05-02T00:00:00Z" };
      const rows = filterRows();
      const ids = (list: LedgerRow[]) => list.map((r) => r.contextId).sort();
      const named = (...n: number[]) => n.map((i) => (rows[i] as LedgerRow).contextId).sort();

      beforeAll(async () => {
        for (const r of rows) expect(await store.append(r)).toBe("inserted");
        // A damaged row (text that is not JSON) matches no content filter and breaks no query.
        if (!harness.verifiesAppends)
          await store.append({ ...syntheticRow(777, "2025-05-01T12:00:00Z"), canonicalText: "{not json" });
      });

      it("by input value: the string, or the JSON value it spells (all filters must hold)", async () => {
        expect(ids(await store.list({ ...window, inputs: [{ name: "userId", value: "u_1" }] }))).toEqual(named(0, 1));
        expect(ids(await store.list({ ...window, inputs: [{ name: "n", value: "3" }] }))).toEqual(named(1, 2));
        expect(
          ids(
            await store.list({
              ...window,
              inputs: [
                { name: "userId", value: "u_1" },
                { name: "n", value: "3" },
              ],
            }),
          ),
        ).toEqual(named(1));
        expect(await store.list({ ...window, inputs: [{ name: "userId", value: "nobody" }] })).toEqual([]);
        expect(await store.count({ ...window, inputs: [{ name: "userId", value: "u_1" }] })).toBe(2);
      });

      it("by feature value, whatever the entity; numbers match across int and float", async () => {
        const tier = await store.list({ ...window, features: [{ name: "userTier", value: "enterprise" }] });
        expect(ids(tier)).toEqual(named(0, 2));
        expect(ids(await store.list({ ...window, features: [{ name: "score", value: "0.5" }] }))).toEqual(named(1));
        expect(ids(await store.list({ ...window, features: [{ name: "score", value: "2" }] }))).toEqual(named(2));
        // A value of another feature does not match by name alone.
        expect(await store.list({ ...window, features: [{ name: "score", value: "enterprise" }] })).toEqual([]);
      });

      it("by freshness status, drops and replays; combined with function and paging", async () => {
        expect(ids(await store.list({ ...window, freshnessStatus: "degraded" }))).toEqual(named(1));
        expect(ids(await store.list({ ...window, hasDrops: true }))).toEqual(named(2));
        expect(ids(await store.list({ ...window, replaysOf: (rows[0] as LedgerRow).contextId }))).toEqual(named(3));
        expect(
          ids(
            await store.list({
              ...window,
              contextFunction: "other",
              features: [{ name: "userTier", value: "enterprise" }],
            }),
          ),
        ).toEqual([]);
        const first = await store.list({ ...window, features: [{ name: "userTier", value: "enterprise" }], limit: 1 });
        const next = await store.list({
          ...window,
          features: [{ name: "userTier", value: "enterprise" }],
          limit: 1,
          cursor: first[0]?.contextId,
        });
        expect([...ids(first), ...ids(next)].sort()).toEqual(named(0, 2));
        expect(first[0]?.contextId).toBe((rows[2] as LedgerRow).contextId);
      });
    });
  });
}

/** Sealed records for the content filters: inputs, feature values, freshness, drops, a replay. */
function filterRows(): LedgerRow[] {
  const plain = readRecordText(readFileSync(join(VECTORS, "plain.json"), "utf8"));
  const feature = (name: string, value: JsonValue) => ({
    name,
    entity_id: "u_1",
    value,
    source: "compute" as const,
    as_of: "2025-05-01T00:00:00Z",
    freshness_ms: 0,
  });
  const make = (i: number, over: Partial<ContextRecord>, assembly: Partial<ContextRecord["assembly"]> = {}) => {
    const { contextId } = syntheticRow(5000 + i, "2025-05-01T00:00:00Z");
    const { record, canonicalText } = sealRecord({
      ...plain,
      context_id: contextId,
      created_at: normalizeDatetime(`2025-05-01T10:00:0${i}Z`),
      ...over,
      assembly: { ...plain.assembly, ...assembly },
    });
    return recordToRow(record, canonicalText);
  };
  const r0 = make(0, { inputs: { userId: "u_1" }, features: [feature("userTier", "enterprise")] });
  return [
    r0,
    make(
      1,
      { inputs: { userId: "u_1", n: 3 }, features: [feature("score", float(0.5))] },
      { freshness_status: "degraded" },
    ),
    make(
      2,
      { inputs: { userId: "u_2", n: float(3) }, features: [feature("userTier", "enterprise"), feature("score", 2)] },
      { dropped_items: [{ source_id: "doc:a", priority: 1, token_count: 15, reason: "budget_exceeded" }] },
    ),
    make(3, { inputs: { userId: "u_3" }, integrity: { ...plain.integrity, previous_context_id: r0.contextId } }),
  ];
}
