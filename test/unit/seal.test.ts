// Sealing: the hashes and the canonical text sealRecord builds in one pass equal what the record's own canonical form
// gives, a signature never changes record_hash, and an assembly serializes its record once (no second canonical pass
// when the ledger row is written).
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it, vi } from "vitest";
import { context, createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import * as hash from "../../src/record/hash.js";
import { sealRecord } from "../../src/record/seal.js";
import { parseSigningKey, signRecord } from "../../src/record/sign.js";
import type { ContextRecord } from "../../src/record/types.js";
import { readRecordText, verifyRecord, verifyStored } from "../../src/record/verify.js";

// Every export of hash.js as a spy that calls the real one, so a test can see which the engine calls.
vi.mock("../../src/record/hash.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/record/hash.js")>();
  return Object.fromEntries(
    Object.entries(real).map(([name, value]) => [name, typeof value === "function" ? vi.fn(value) : value]),
  );
});

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const vectors = readdirSync(VECTORS)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({
    name: f,
    record: readRecordText(readFileSync(join(VECTORS, f), "utf8")),
    canonical: readFileSync(join(VECTORS, f.replace(/\.json$/, ".canonical.txt")), "utf8").replace(/\n$/, ""),
  }));
const KEY = parseSigningKey("hex:00112233445566778899aabbccddeeff", "key-1");
const blank = (record: ContextRecord): ContextRecord => ({
  ...record,
  integrity: { ...record.integrity, record_hash: "", content_hash: "" },
});

describe("sealRecord", () => {
  for (const { name, record, canonical } of vectors) {
    it(`reproduces spec vector ${name}: its hashes, its hashing text and its stored text`, () => {
      const sealed = sealRecord(blank(record));
      expect(sealed.record).toEqual(record);
      expect(hash.hashingText(sealed.record)).toBe(canonical); // the vector's .canonical.txt is the hashing text
      expect(sealed.canonicalText).toBe(hash.canonicalRecordText(record));
    });
  }

  it("signs without changing record_hash, and the text it gives is the signed record's", () => {
    for (const { name, record } of vectors) {
      const unsigned = sealRecord(
        blank({
          ...record,
          integrity: { ...record.integrity, signature: null, signed_at: null, signing_key_id: null },
        }),
      );
      const signed = sealRecord(unsigned.record, { signingKey: KEY, signedAt: "2026-03-01T09:15:03.250000Z" });
      expect(signed.record.integrity.record_hash, name).toBe(unsigned.record.integrity.record_hash);
      expect(signed.record, name).toEqual(signRecord(unsigned.record, KEY, "2026-03-01T09:15:03.250000Z"));
      expect(signed.canonicalText, name).toBe(hash.canonicalRecordText(signed.record));
      expect(
        verifyStored(signed.canonicalText, record.context_id, { signingKey: KEY, requireSignature: true }).ok,
        name,
      ).toBe(true);
    }
  });

  it("gives the record's own hashes and canonical text for any content, inputs and integrity fields", () => {
    const base = vectors[0]?.record as ContextRecord;
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.constantFrom("", '"', "\\", '"integrity":{', "}"),
    );
    fc.assert(
      fc.property(
        text,
        fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 }),
        fc.option(text, { nil: null }),
        fc.option(fc.option(text, { nil: null }), { nil: undefined }),
        fc.boolean(),
        (content, inputs, previous, keyId, sign) => {
          const integrity = { ...base.integrity, previous_context_id: previous, signature: null, signed_at: null };
          if (keyId === undefined) delete (integrity as { signing_key_id?: unknown }).signing_key_id;
          else integrity.signing_key_id = keyId;
          const sealed = sealRecord(blank({ ...base, content, inputs, integrity }), {
            signingKey: sign ? KEY : null,
            signedAt: "2026-03-01T09:15:03Z",
          });
          expect(sealed.record.integrity.record_hash).toBe(hash.computeRecordHash(sealed.record));
          expect(sealed.record.integrity.content_hash).toBe(hash.contentHash(content));
          expect(sealed.canonicalText).toBe(hash.canonicalRecordText(sealed.record));
          expect(verifyRecord(sealed.record, { signingKey: KEY }).ok).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("an assembly", () => {
  let fabra: FabraRuntime | undefined;
  afterAll(async () => {
    await fabra?.close();
  });

  it("serializes its record once: the ledger row holds the text sealing built", async () => {
    const user = entity("user");
    const tier = feature({ entity: user }, (id: string) => `tier-of-${id}`);
    const chat = context({ maxTokens: 50 }, async ({ userId }: { userId: string }) => [
      { content: `User ${userId} is ${await tier.get(userId)}.` },
    ]);
    fabra = await createFabra({
      stores: { offline: { type: "duckdb", path: join(mkdtempSync(join(tmpdir(), "fabra-seal-")), "fabra.duckdb") } },
      definitions: { user, tier, chat },
      warn: () => {},
    });
    const spies = [hash.canonicalRecordText, hash.hashingText, hash.computeRecordHash].map((f) => vi.mocked(f));
    for (const spy of spies) spy.mockClear();
    const result = await chat({ userId: "u1" });
    for (const spy of spies) expect(spy, spy.getMockName()).not.toHaveBeenCalled();
    const row = await fabra.stores.records.get(result.id);
    expect(row?.canonicalText).toBe(hash.canonicalRecordText(result.record));
    expect(verifyStored(row?.canonicalText ?? "", result.id).ok).toBe(true);
  });
});
