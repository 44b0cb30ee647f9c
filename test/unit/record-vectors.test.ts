// The CRS-001 spec vectors (copied from ../shared/spec/vectors): each verifies, and re-canonicalizing
// reproduces its canonical text byte for byte.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalRecordText,
  computeRecordHash,
  hashingText,
  readRecordText,
  verifyStored,
  verifyRecord,
} from "../../src/record/index.js";
import { canonicalJson } from "../../src/record/canonical.js";
import { parseJson, JsonFloat, type JsonValue } from "../../src/record/json.js";

const dir = join(import.meta.dirname, "..", "fixtures", "crs-001");
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
      expect(verifyStored(stored, name).ok).toBe(true);
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

describe("tampering", () => {
  // Every leaf of every vector, except the three signature fields CRS-001 leaves out of the record hash
  // (a signature attests the hash; changing it is caught by signature verification, not by the hash).
  const UNHASHED = new Set(["integrity.signature", "integrity.signed_at", "integrity.signing_key_id"]);

  function leaves(value: unknown, path: string[] = []): string[][] {
    if (value instanceof JsonFloat) return [path];
    if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, String(i)]));
    if (typeof value === "object" && value !== null)
      return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
    return [path];
  }

  function mutate(leaf: unknown, salt: number): unknown {
    if (typeof leaf === "string") return leaf + String.fromCharCode(0x21 + (salt % 90));
    if (typeof leaf === "number") return leaf + 1 + salt;
    if (leaf instanceof JsonFloat) return new JsonFloat(leaf.value * 1.5 + 1 + salt);
    if (typeof leaf === "bigint") return leaf + 1n;
    if (typeof leaf === "boolean") return !leaf;
    return `x${salt}`; // null
  }

  for (const name of names) {
    // Read and written kind-preserving (12.0 stays a float), so only the mutation changes the bytes.
    const text = readFileSync(join(dir, `${name}.json`), "utf8");
    const copyOf = () => parseJson(text) as Record<string, unknown>;
    const paths = leaves(copyOf()).filter((p) => !UNHASHED.has(p.join(".")));

    it(`${name}: changing any hashed field breaks verification (${paths.length} fields)`, () => {
      expect(verifyRecord(readRecordText(canonicalJson(copyOf() as JsonValue))).ok).toBe(true);
      fc.assert(
        fc.property(fc.constantFrom(...paths), fc.nat(1000), (path, salt) => {
          const copy = copyOf();
          let parent = copy as Record<string, unknown>;
          for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
          const last = path[path.length - 1] as string;
          parent[last] = mutate(parent[last], salt);
          const mutated = canonicalJson(copy as JsonValue);
          expect(mutated).not.toBe(canonicalJson(copyOf() as JsonValue));
          let record;
          try {
            record = readRecordText(mutated);
          } catch {
            return; // no longer a CRS-001 record at all: rejected before verification, which is also a failure to pass
          }
          expect(verifyRecord(record).ok).toBe(false);
        }),
        { numRuns: 400 },
      );
    });
  }
});
