// The CRS-001 spec vectors (copied from ../shared/spec/vectors): each verifies, and re-canonicalizing
// reproduces its canonical text byte for byte.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  canonicalRecordText,
  computeRecordHash,
  hashingText,
  readRecordText,
  verifyCanonicalText,
  verifyRecord,
} from "../src/record/index.js";

const dir = join(import.meta.dirname, "fixtures", "crs-001");
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.replace(/\.json$/, ""));

describe("CRS-001 spec vectors", () => {
  it("has the four vectors", () => {
    expect(names.sort()).toEqual(["empty_content", "features_unicode_numbers", "plain", "retrieval_drops_signed"]);
  });

  for (const name of names) {
    const text = readFileSync(join(dir, `${name}.json`), "utf8");
    const canonical = readFileSync(join(dir, `${name}.canonical.txt`), "utf8").replace(/\n$/, "");

    it(`${name}: hashing text equals the canonical text byte for byte`, () => {
      expect(hashingText(readRecordText(text))).toBe(canonical);
    });

    it(`${name}: verifies`, () => {
      const record = readRecordText(text);
      const result = verifyRecord(record);
      expect(result.failed).toBeNull();
      expect(result.ok).toBe(true);
      expect(computeRecordHash(record)).toBe(record.integrity.record_hash);
    });

    it(`${name}: stored canonical text round-trips and verifies on the fast path`, () => {
      const stored = canonicalRecordText(readRecordText(text));
      expect(canonicalRecordText(readRecordText(stored))).toBe(stored);
      expect(verifyCanonicalText(stored, name).ok).toBe(true);
    });

    it(`${name}: a one-character change in content fails`, () => {
      const record = readRecordText(text);
      const tampered = { ...record, content: record.content + "!" };
      const result = verifyRecord(tampered);
      expect(result.ok).toBe(false);
      expect(result.failed?.name).toBe("content_hash");
      expect(result.failed?.expected).toBe(record.integrity.content_hash);
    });
  }
});
