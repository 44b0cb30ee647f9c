// Golden vectors made with the Python implementation's formulas (test/fixtures/compat/generate.py): every record it
// writes, in both export forms, reads here, hashes to the same canonical text, and gets the expected verdict under
// the environment it names (its signing key encodings, mode spellings and key ids).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/resolve.js";
import { verificationSigning } from "../../src/config/signing.js";
import { Ledger } from "../../src/engine/ledger/ledger.js";
import {
  canonicalRecordText,
  hashingText,
  readRecordText,
  verifyRecord,
  verifyStored,
} from "../../src/record/index.js";
import { openRecordStore } from "../../src/stores/index.js";
import type { RecordStore } from "../../src/stores/types.js";

const dir = join(import.meta.dirname, "..", "fixtures", "compat");
interface Vector {
  name: string;
  env: Record<string, string>;
  ok: boolean;
  record_hash: string;
  forms?: string[];
}
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Vector[];

function verifyOptions(env: Record<string, string>) {
  const signing = verificationSigning(
    resolveConfig({ config: {}, configPath: null, rootDir: "/p" }, env, "/p").signing,
  );
  return new Ledger({ records: () => ({}) as RecordStore, signing: () => signing }).verifyOptions;
}

describe("records the Python implementation writes", () => {
  it("has a vector for each class", () => {
    expect(manifest.length).toBeGreaterThanOrEqual(18);
  });

  for (const v of manifest) {
    for (const form of v.forms ?? ["export", "pydantic"]) {
      it(`${v.name} (${form} form): ${v.ok ? "verifies" : "fails"} as Python's formulas say`, () => {
        const text = readFileSync(join(dir, `${v.name}.${form}.json`), "utf8");
        const canonical = readFileSync(join(dir, `${v.name}.canonical.txt`), "utf8").replace(/\n$/, "");
        const record = readRecordText(text, `${v.name}.${form}.json`);
        expect(hashingText(record)).toBe(canonical);
        expect(record.integrity.record_hash).toBe(v.record_hash);
        const opts = verifyOptions(v.env);
        const result = verifyRecord(record, opts);
        expect(result.ok, JSON.stringify(result.failed)).toBe(v.ok);
        if (v.ok) expect(result.checks.map((c) => c.name)).toContain("content_hash");
        // Stored as fabra stores it, the same verdict on the byte path.
        expect(verifyStored(canonicalRecordText(record), record.context_id, opts, { fast: true }).ok).toBe(v.ok);
        if (!v.ok) expect(result.failed?.name).toBe("signature");
        if (v.ok && record.integrity.signature !== null)
          expect(result.checks.find((c) => c.name === "signature")?.keyId).toBeDefined();
      });
    }
  }
});

describe("imported into a DuckDB ledger", () => {
  it("every vector that verifies imports, and verify --all passes them all (fast path and full)", async () => {
    const store = await openRecordStore({
      stores: { offline: { type: "duckdb", path: ":memory:" }, online: { type: "memory" }, vector: { type: "memory" } },
    });
    try {
      const ledger = new Ledger({ records: () => store, signing: () => ({ mode: "optional", key: null }) });
      const files = manifest
        .filter((v) => v.ok && Object.keys(v.env).length === 0)
        .map((v) => join(dir, `${v.name}.${v.forms?.[0] ?? "pydantic"}.json`));
      expect(files.length).toBeGreaterThanOrEqual(9);
      await ledger.import(files);
      const all = await ledger.verifyAll();
      expect(all.failures).toEqual([]);
      expect(await ledger.count()).toBe(files.length);
      const { record } = await ledger.getVerified("ctx_019ca9f0-0000-7000-8000-000000000001");
      expect(record.created_at).toBe("2026-03-01T14:45:00+05:30");
    } finally {
      await store.close();
    }
  });
});
