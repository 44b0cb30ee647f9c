// Verification holds against a forger who re-seals records: signatures that cannot be checked never pass when
// checking was asked for, a key twice in one object is refused, and import is all or nothing.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importRecordFiles } from "../../src/engine/ledger/import.js";
import { recordToRow } from "../../src/engine/ledger/rows.js";
import { verifyLedgerRow } from "../../src/engine/ledger/verify-rows.js";
import { canonicalRecordText, readRecordText, sealRecord, signRecord, verifyRecord } from "../../src/record/index.js";
import { parseSigningKey } from "../../src/record/sign.js";
import { openRecordStore } from "../../src/stores/index.js";
import { tempDir } from "../helpers/temp.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const plain = () => readRecordText(readFileSync(join(VECTORS, "plain.json"), "utf8"));
const key = parseSigningKey("secret-1", "k1");

describe("signatures", () => {
  const signed = signRecord(plain(), key);
  // A forger changes the content, re-seals both hashes and names a key the verifier does not have.
  const resealed = sealRecord({ ...signed, content: "FORGED" }).record;
  const forged = { ...resealed, integrity: { ...resealed.integrity, signing_key_id: "k2" } };

  it("a genuine signature verifies with its key", () => {
    expect(verifyRecord(signed, { signingKey: key }).ok).toBe(true);
  });

  it("a re-sealed record naming another key fails when a key is configured", () => {
    const result = verifyRecord(forged, { signingKey: key });
    expect(result.ok).toBe(false);
    expect(result.failed).toMatchObject({
      name: "signature",
      actual: expect.stringMatching(/does not match any configured key: k1; the record names key k2/),
    });
  });

  it("fails when signatures are required and no key is configured; is skipped (and says so) when optional", () => {
    expect(verifyRecord(forged, { requireSignature: true }).failed).toMatchObject({
      name: "signature",
      actual: expect.stringContaining("cannot be checked"),
    });
    const optional = verifyRecord(forged, {});
    expect(optional.ok).toBe(true);
    expect(optional.checks.find((c) => c.name === "signature")?.skipped).toMatch(/no signing key/);
  });
});

describe("a key twice in one object", () => {
  const record = plain();
  const text = canonicalRecordText(record);
  // The forged content comes first; a last-wins reader would show the original and hash... whichever it saw.
  const doubled = text.replace('"content":', '"content":"FORGED","content":');

  it("is refused when reading a record", () => {
    expect(() => readRecordText(doubled)).toThrow(/"content" appears twice/);
  });

  it("fails verification of a ledger row even with both hashes recomputed over the doubled text", () => {
    const result = verifyLedgerRow({ ...recordToRow(record), canonicalText: doubled });
    expect(result.ok).toBe(false);
    expect(result.failed?.actual).toMatch(/appears twice/);
  });
});

describe("import", () => {
  it("writes nothing when a later file conflicts with the ledger", async () => {
    const dir = tempDir("fabra-import-");
    const records = await openRecordStore({
      stores: {
        offline: { type: "duckdb", path: join(dir, "l.duckdb") },
        online: { type: "memory" },
        vector: { type: "memory" },
      },
    });
    try {
      await importRecordFiles(records, [join(VECTORS, "plain.json")]);
      // Same id as plain.json, other content, correctly sealed: a conflict, not tampering.
      const other = sealRecord({ ...plain(), content: "another record with the same id" }).record;
      const conflict = join(dir, "conflict.json");
      writeFileSync(conflict, canonicalRecordText(other));
      await expect(importRecordFiles(records, [join(VECTORS, "empty_content.json"), conflict])).rejects.toMatchObject({
        code: "RECORD_CONFLICT",
        message: expect.stringMatching(/conflict\.json: .*already in the ledger.*nothing was imported/),
      });
      expect(await records.count()).toBe(1); // empty_content.json was not written
      // Two files with one id and different hashes conflict with each other too, on an empty ledger.
      const fresh = await openRecordStore({
        stores: {
          offline: { type: "duckdb", path: join(dir, "fresh.duckdb") },
          online: { type: "memory" },
          vector: { type: "memory" },
        },
      });
      try {
        await expect(importRecordFiles(fresh, [join(VECTORS, "plain.json"), conflict])).rejects.toMatchObject({
          code: "RECORD_CONFLICT",
          message: expect.stringMatching(/already in .*plain\.json/),
        });
        expect(await fresh.count()).toBe(0);
      } finally {
        await fresh.close();
      }
    } finally {
      await records.close();
    }
  });
});

describe("a record filed under another id", () => {
  it("fails one-row verification and verify --all, naming both ids", async () => {
    const { verifyLedger } = await import("../../src/engine/ledger/verify-rows.js");
    const dir = tempDir("fabra-refiled-");
    const records = await openRecordStore({
      stores: {
        offline: { type: "duckdb", path: join(dir, "l.duckdb") },
        online: { type: "memory" },
        vector: { type: "memory" },
      },
    });
    try {
      const record = plain();
      const row = recordToRow(record);
      const otherId = "ctx_0190a1b2-0000-7000-8000-0000000000aa";
      await records.append(row);
      await records.append({ ...row, contextId: otherId }); // the same, valid text under another id
      expect(verifyLedgerRow(row).ok).toBe(true);
      const refiled = verifyLedgerRow({ ...row, contextId: otherId });
      expect(refiled.ok).toBe(false);
      expect(refiled.failed?.actual).toBe(`the row ${otherId} holds the record ${record.context_id}`);
      const all = await verifyLedger(records);
      expect(all.checked).toBe(2);
      expect(all.failures.map((f) => f.contextId)).toEqual([otherId]);
    } finally {
      await records.close();
    }
  });
});
