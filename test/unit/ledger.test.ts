// The Ledger: one owner of the record store and of the verify options. Not-found and verification errors as the
// commands show them, the signing settings asked for once, the store read on each use (so a wrapper put over it
// later is used), and a ledger-only command that verifies a file without opening the store at all.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withLedger } from "../../src/app/project.js";
import { Ledger } from "../../src/engine/ledger/ledger.js";
import { recordToRow } from "../../src/engine/ledger/rows.js";
import { readRecordText } from "../../src/record/index.js";
import { parseSigningKey, signRecord, type SignatureMode, type SigningKey } from "../../src/record/sign.js";
import { parseUnsignedCutoff, type UnsignedCutoff } from "../../src/record/unsigned-cutoff.js";
import { openRecordStore } from "../../src/stores/index.js";
import type { RecordStore } from "../../src/stores/types.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const PLAIN = join(VECTORS, "plain.json");
const PLAIN_ID = "ctx_0190a1b2-0000-7000-8000-000000000001";
const plain = () => readRecordText(readFileSync(PLAIN, "utf8"), "plain.json");
const KEY = parseSigningKey("unit-secret", "k1");

let store: RecordStore;
beforeAll(async () => {
  store = await openRecordStore({
    stores: { offline: { type: "duckdb", path: ":memory:" }, online: { type: "memory" }, vector: { type: "memory" } },
  });
});
afterAll(() => store.close());

function ledgerWith(
  mode: SignatureMode,
  { key = KEY, acceptUnsigned = null }: { key?: SigningKey | null; acceptUnsigned?: UnsignedCutoff | null } = {},
) {
  const asked = { signing: 0 };
  const ledger = new Ledger({
    records: () => store,
    signing: () => {
      asked.signing++;
      return { mode, key, acceptUnsigned };
    },
  });
  return { ledger, asked };
}

describe("Ledger", () => {
  it("appends, gets and lists records; an unknown id is RECORD_NOT_FOUND", async () => {
    const { ledger } = ledgerWith("optional");
    expect(await ledger.append(plain())).toBe("inserted");
    expect(await ledger.append(plain())).toBe("exists");
    const { row, record } = await ledger.get(PLAIN_ID.slice(4)); // the bare UUID works too
    expect(row.contextId).toBe(PLAIN_ID);
    expect(record.context_id).toBe(PLAIN_ID);
    expect((await ledger.list()).map((r) => r.contextId)).toContain(PLAIN_ID);
    await expect(ledger.get("ctx_0190a1b2-0000-7000-8000-0000000000ff")).rejects.toMatchObject({
      code: "RECORD_NOT_FOUND",
    });
  });

  it("verifies with its own signing settings, asked for once", async () => {
    const optional = ledgerWith("optional", { key: null });
    expect((await optional.ledger.verify(PLAIN_ID)).verification.ok).toBe(true);
    expect((await optional.ledger.verifyAll()).failures).toEqual([]);
    expect(optional.asked.signing).toBe(1);

    // With a key configured, an unsigned record fails even in mode optional (a stripped signature is no pass)...
    const keyed = ledgerWith("optional");
    expect((await keyed.ledger.verify(PLAIN_ID)).verification.failed).toMatchObject({
      name: "signature",
      actual: "none",
    });
    expect((await keyed.ledger.verifyAll()).failures.map((f) => f.contextId)).toEqual([PLAIN_ID]);
    // ...unless the operator accepts unsigned records filed before an id or a time.
    const later = parseUnsignedCutoff("ctx_0190a1b2-0000-7000-8000-000000000002", "test");
    const accepted = (await ledgerWith("optional", { acceptUnsigned: later }).ledger.verify(PLAIN_ID)).verification;
    expect(accepted.ok).toBe(true);
    expect(accepted.checks.find((c) => c.name === "signature")?.skipped).toMatch(/unsigned, accepted/);
    const earlier = parseUnsignedCutoff("2024-01-01T00:00:00Z", "test"); // the id's time is 2024-07
    expect((await ledgerWith("optional", { acceptUnsigned: earlier }).ledger.verify(PLAIN_ID)).verification.ok).toBe(
      false,
    );
    expect((await ledgerWith("off").ledger.verify(PLAIN_ID)).verification.ok).toBe(true);

    const required = ledgerWith("required");
    const { verification } = await required.ledger.verify(PLAIN_ID);
    expect(verification.failed).toMatchObject({ name: "signature", expected: "a signature", actual: "none" });
    expect((await required.ledger.verifyAll()).failures.map((f) => f.contextId)).toEqual([PLAIN_ID]);
    expect((await required.ledger.verifyFile(PLAIN)).verification.ok).toBe(false);
    expect(required.asked.signing).toBe(1);
  });

  it("refuses to export or hand over an unsigned record under required signatures, saying why", async () => {
    const { ledger } = ledgerWith("required");
    await expect(ledger.export(PLAIN_ID)).rejects.toMatchObject({
      code: "VERIFICATION_FAILED",
      message: expect.stringMatching(/not signed, and signatures are required.*it was not exported/),
      hint: expect.not.stringMatching(/altered/),
    });
    await expect(ledger.intact(PLAIN_ID, "it will not be replayed")).rejects.toMatchObject({
      message: expect.stringMatching(/it will not be replayed$/),
    });
    expect((await ledgerWith("optional", { key: null }).ledger.export(PLAIN_ID)).contextId).toBe(PLAIN_ID);
  });

  it("a row whose text does not parse fails verification (it is not an error); showing or exporting it is refused", async () => {
    const id = "ctx_0190a1b2-0000-7000-8000-0000000000aa";
    await store.append({ ...recordToRow(plain()), contextId: id, canonicalText: '{"context_id": "broken' });
    const { ledger } = ledgerWith("optional");
    expect((await ledger.verify(id)).verification).toMatchObject({ ok: false, failed: { name: expect.any(String) } });
    await expect(ledger.getVerified(id)).rejects.toThrow();
    await expect(ledger.export(id)).rejects.toMatchObject({ code: "VERIFICATION_FAILED" });
  });

  it("diffs records by id or file, each verified", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fabra-ledger-unit-"));
    const signedFile = join(dir, "signed.json");
    const signed = signRecord(
      readRecordText(readFileSync(join(VECTORS, "empty_content.json"), "utf8"), "empty_content.json"),
      KEY,
    );
    writeFileSync(signedFile, JSON.stringify(signed));
    const comparison = await ledgerWith("required").ledger.diff({ id: PLAIN_ID }, { file: signedFile });
    expect(comparison.verified).toBe(false);
    expect(comparison.verification.a.failed?.name).toBe("signature");
    expect(comparison.verification.b.ok).toBe(true);
    expect((await ledgerWith("optional").ledger.diff({ id: PLAIN_ID }, { file: signedFile })).verified).toBe(false);
    const before = parseUnsignedCutoff("2030-01-01T00:00:00Z", "test");
    const accepting = ledgerWith("optional", { acceptUnsigned: before });
    expect((await accepting.ledger.diff({ id: PLAIN_ID }, { file: signedFile })).verified).toBe(true);
  });

  it("reads the store on each use, so a wrapper put over it later sees every append", async () => {
    const holder = { records: store };
    const ledger = new Ledger({ records: () => holder.records, signing: () => ({ mode: "optional", key: null }) });
    const appended: string[] = [];
    holder.records = Object.assign(Object.create(store) as RecordStore, {
      append: (row: Parameters<RecordStore["append"]>[0]) => {
        appended.push(row.contextId);
        return store.append(row);
      },
    });
    await ledger.append(plain());
    expect(appended).toEqual([PLAIN_ID]);
  });
});

describe("withLedger", () => {
  it("verifies a record file without opening the store, and uses the project's signing mode", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fabra-ledger-project-"));
    writeFileSync(join(dir, "not-a-dir"), "");
    // A ledger path that cannot be opened: only a command that needs the store fails.
    writeFileSync(
      join(dir, "fabra.config.json"),
      JSON.stringify({
        signing: { mode: "required" },
        stores: { offline: { type: "duckdb", path: "not-a-dir/x.duckdb" } },
      }),
    );
    const env = { FABRA_SIGNING_KEY: "unit-secret" };
    const verification = await withLedger(
      { cwd: dir, env },
      async (ledger) => (await ledger.verifyFile(PLAIN)).verification,
    );
    expect(verification.failed).toMatchObject({ name: "signature", actual: "none" });
    await expect(withLedger({ cwd: dir, env }, (ledger) => ledger.list())).rejects.toThrow();
  });
});
