// Verifying stored records: the fast byte path (record/verify/stored-fast.ts) against the full parse (stored-full.ts)
// on the spec vectors, on records the engine makes, on variations of every integrity field, and on texts tampered at
// random; what ledger text that is not canonical or not a record gives; and the byte-level string decoder.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, createFabra, entity, feature, retriever, type FabraRuntime } from "../../src/index.js";
import { quoteString } from "../../src/record/canonical.js";
import { toDatetime } from "../../src/record/datetime.js";
import { JsonFloat } from "../../src/record/json.js";
import { canonicalRecordText, hashingText } from "../../src/record/hash.js";
import { sealRecord } from "../../src/record/seal.js";
import { parseSigningKey, signRecord } from "../../src/record/sign.js";
import type { ContextRecord } from "../../src/record/types.js";
import {
  readRecordText,
  verifyRecord,
  verifyStored,
  type VerifyOptions,
  type VerifyResult,
} from "../../src/record/verify.js";
import { verifyStoredFast } from "../../src/record/verify/stored-fast.js";
import { verifyStoredFull } from "../../src/record/verify/stored-full.js";
import { isWellFormed, toWellFormed } from "../../src/record/unicode.js";
import { closingQuote, unescapeUtf8 } from "../../src/record/verify/string-bytes.js";
import { tempFile } from "../helpers/temp.js";

const ID = "ctx_test";
/** The id a row holding this text is filed under: the record's own (the fast path confirms only a row under its own id). */
const idIn = (stored: Uint8Array | string): string =>
  /"context_id":"(ctx_[^"]*)"/.exec(typeof stored === "string" ? stored : Buffer.from(stored).toString("utf8"))?.[1] ??
  ID;
const KEY = parseSigningKey("hex:00112233445566778899aabbccddeeff", "key-1");
const OTHER_KEY = parseSigningKey("another secret", "key-1");
/** Every option set verification runs with: no key, the right key, a wrong key with the same id, signatures required. */
const OPTION_SETS: VerifyOptions[] = [
  {},
  { signingKey: KEY },
  { signingKey: OTHER_KEY },
  { requireSignature: true, signingKey: KEY },
];

const fixtures = join(import.meta.dirname, "..", "fixtures", "crs-001");
const vectors = readdirSync(fixtures)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({ name: f, record: readRecordText(readFileSync(join(fixtures, f), "utf8")) }));

const fast = (bytes: Uint8Array, opts: VerifyOptions = {}) => verifyStoredFast(bytes, idIn(bytes), opts);
const full = (bytes: Uint8Array, opts: VerifyOptions = {}) =>
  verifyStoredFull(Buffer.from(bytes).toString("utf8"), idIn(bytes), opts);
/** verifyStored as `verify --all` calls it: the fast path first, the full parse for what it does not accept. */
const fastFirst = { fast: true } as const;

/**
 * Whether the record holds user values (inputs, feature values) whose number kinds the native JSON.parse loses (an
 * integral float such as 12.0, an integer beyond 2^53): the fast path leaves those records to the full path.
 */
function losesNumberKinds(text: string): boolean {
  const record = readRecordText(text);
  const lossy = (v: unknown): boolean =>
    v instanceof JsonFloat
      ? Number.isInteger(v.value)
      : typeof v === "bigint" ||
        (typeof v === "object" && v !== null && Object.values(v as Record<string, unknown>).some(lossy));
  return lossy(record.inputs) || record.features.some((f) => lossy(f.value));
}

/**
 * The fast path accepts intact stored text (unless its values need number kinds JSON.parse loses), with exactly the
 * full path's result, under every option set.
 */
function expectFastAgrees(text: string, label: string): void {
  const confirmable = !losesNumberKinds(text);
  const bytes = Buffer.from(text, "latin1");
  expect(text, label).toMatch(/^[\x20-\x7e]*$/); // canonical text is printable ASCII
  for (const opts of OPTION_SETS) {
    const expected = full(bytes, opts);
    const got = fast(bytes, opts);
    if (expected.ok && confirmable) expect(got, `${label}: the fast path gave up on an intact record`).not.toBeNull();
    else if (!expected.ok) expect(got, label).toBeNull(); // it only ever confirms
    if (got !== null) expect(got, label).toEqual(expected);
    expect(verifyStored(bytes, idIn(bytes), opts, fastFirst), label).toEqual(expected);
    expect(verifyStored(text, idIn(text), opts, fastFirst), label).toEqual(expected);
    expect(verifyStored(bytes, idIn(bytes), opts), label).toEqual(expected);
    expect(verifyStored(text, idIn(text), opts), label).toEqual(expected);
    expectScratchAgrees(bytes, opts, expected, label);
  }
  // Intact: the full path passes (no key) with the same checks as verifying the parsed record.
  const intact = full(bytes);
  expect(intact.ok, label).toBe(true);
  expect(intact.checks).toEqual(verifyRecord(readRecordText(text)).checks);
}

/**
 * The scratch mode (the hashing text built in the bytes themselves) gives the same result; bytes that go to the full
 * path are restored first, so a failing row is left exactly as it was.
 */
function expectScratchAgrees(bytes: Buffer, opts: VerifyOptions, expected: VerifyResult, label: string): void {
  const copy = Buffer.from(bytes);
  expect(verifyStored(copy, idIn(copy), opts, { fast: true, scratch: true }), label).toEqual(expected);
  if (!expected.ok) expect(copy.equals(bytes), `${label}: bytes restored`).toBe(true);
}

const sealed = (record: ContextRecord): ContextRecord =>
  sealRecord({
    ...record,
    integrity: { ...record.integrity, record_hash: "", content_hash: "", signature: null, signed_at: null },
  }).record;

describe("the fast path agrees with the full parse", () => {
  for (const { name, record } of vectors) {
    it(`on spec vector ${name}`, () => {
      expectFastAgrees(canonicalRecordText(record), name);
    });
  }

  it("on signed records, with and without signing_key_id, and with a signature that does not match", () => {
    for (const { name, record } of vectors) {
      const signed = signRecord(sealed(record), KEY, "2026-03-01T09:15:03.250000Z");
      expectFastAgrees(canonicalRecordText(signed), `${name} signed`);
      const { signing_key_id: _dropped, ...noKeyId } = signed.integrity;
      expectFastAgrees(canonicalRecordText({ ...signed, integrity: noKeyId }), `${name} signed, no signing_key_id`);
      expectFastAgrees(
        canonicalRecordText({
          ...signed,
          integrity: { ...signed.integrity, signature: "hmac-sha256:" + "0".repeat(64) },
        }),
        `${name} bad signature`,
      );
      expectFastAgrees(
        canonicalRecordText({ ...signed, integrity: { ...signed.integrity, signing_key_id: "key-2" } }),
        `${name} other key`,
      );
    }
  });

  it("on any values of the integrity fields and content (escapes, non-ASCII, astral and lone surrogates)", () => {
    const base = vectors[0]?.record as ContextRecord;
    const anyText = fc
      .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 })
      .map((units) => String.fromCharCode(...units));
    const text = fc.oneof(
      anyText,
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom("", '"', "\\", "}", '"integrity":{', ',"content":"'),
    );
    fc.assert(
      fc.property(
        text,
        fc.option(text, { nil: null }),
        fc.option(text, { nil: null }),
        fc.option(fc.option(text, { nil: null }), { nil: undefined }),
        fc.option(
          fc.date({
            min: new Date("1970-01-01T00:00:00Z"),
            max: new Date("2200-01-01T00:00:00Z"),
            noInvalidDate: true,
          }),
          { nil: null },
        ),
        (content, previous, signature, keyId, signedAt) => {
          // Sealing refuses a lone surrogate in content: seal the well-formed text, then store the raw one (both
          // paths must then refuse it alike).
          const record = sealed({
            ...base,
            content: toWellFormed(content),
            integrity: { ...base.integrity, previous_context_id: previous },
          });
          const integrity = { ...record.integrity, signature, signed_at: signedAt ? toDatetime(signedAt) : null };
          if (keyId === undefined) delete (integrity as { signing_key_id?: unknown }).signing_key_id;
          else integrity.signing_key_id = keyId;
          const text = canonicalRecordText({ ...record, content, integrity });
          if (isWellFormed(content)) expectFastAgrees(text, "generated");
          else {
            const bytes = Buffer.from(text, "latin1");
            expect(full(bytes).failed?.actual).toMatch(/lone surrogate/);
            expect(fast(bytes)).toBeNull();
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  describe("on records the engine makes", () => {
    let fabra: FabraRuntime;
    const texts: string[] = [];
    beforeAll(async () => {
      const user = entity("user");
      // Values that put `"integrity":{` and `,"content":"` inside the record before the real ones.
      const profile = feature({ entity: user }, (id: string) => ({
        integrity: { record_hash: "sha256:x", id },
        content: "fake",
        note: 'a "quoted" } brace',
      }));
      const score = feature({ entity: user }, (id: string) => id.length + 0.5);
      const docs = retriever({ index: "kb", topK: 3 });
      const chat = context({ maxTokens: 60 }, async ({ userId, query }: { userId: string; query: string }) => {
        const p = await profile.get(userId);
        const hits = await docs(query);
        return [
          { content: 'System prompt — café ✓ 😀\n"quoted" \\ back', priority: 0, required: true },
          { content: `User ${userId}: ${JSON.stringify(p)} score ${await score.get(userId)}`, priority: 1 },
          ...hits.map((h, i) => ({ content: h.content, priority: 2 + i, source: h })),
        ];
      });
      fabra = await createFabra({
        stores: { offline: { type: "duckdb", path: tempFile("fabra-verify-", "fabra.duckdb") } },
        definitions: { user, profile, score, docs, chat },
        warn: () => {},
      });
      await fabra.index.add("kb", [
        { id: "reset", content: 'To reset your password open the sign-in page. "integrity":{ is not a key here.' },
        { id: "billing", content: 'Invoices: ,"content":" and naïve résumé — sent monthly.' },
        { id: "emoji", content: "Limits 😀 600 requests per minute; \\ backslash \t tab." },
      ]);
      for (const [i, query] of [
        "reset password",
        "billing invoices",
        "requests per minute limits",
        "integrity content",
      ].entries()) {
        const result = await chat({ userId: `u${i}"}\\`, query });
        const row = await fabra.stores.records.get(result.id);
        texts.push(row?.canonicalText as string);
      }
    });
    afterAll(async () => {
      await fabra?.close();
    });

    it("verifies each on the fast path, with the full path's result", () => {
      expect(texts).toHaveLength(4);
      for (const [i, text] of texts.entries()) expectFastAgrees(text, `engine record ${i}`);
    });
  });
});

/** A stored text tampered with: bytes flipped, inserted or deleted anywhere, or inside the integrity object or content. */
interface Tamper {
  kind: "flip" | "insert" | "delete";
  where: "anywhere" | "integrity" | "content";
  at: number;
  bytes: number[];
  length: number;
}

const tamperArb: fc.Arbitrary<Tamper> = fc.record({
  kind: fc.constantFrom("flip", "insert", "delete"),
  where: fc.constantFrom("anywhere", "integrity", "content"),
  at: fc.nat(),
  // Mostly bytes that matter to JSON and canonical form; sometimes any byte (invalid UTF-8 included).
  bytes: fc.array(
    fc.oneof(fc.constantFrom(...Buffer.from(' "\\{}[],:0aAuF/\n\x7f')), fc.integer({ min: 0, max: 255 })),
    { minLength: 1, maxLength: 3 },
  ),
  length: fc.integer({ min: 1, max: 3 }),
});

function applyTamper(text: string, t: Tamper): Buffer {
  const bytes = Buffer.from(text, "latin1");
  let from = 0;
  let to = bytes.length;
  if (t.where === "integrity") {
    from = text.lastIndexOf('"integrity":{');
    to = text.indexOf("}", from) + 1;
  } else if (t.where === "content") {
    from = text.indexOf(',"content":"');
    to = text.indexOf('","context_function"', from) + 2;
  }
  const at = from + (t.at % Math.max(1, to - from));
  if (t.kind === "insert") return Buffer.concat([bytes.subarray(0, at), Buffer.from(t.bytes), bytes.subarray(at)]);
  if (t.kind === "delete")
    return Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + t.length))]);
  const out = Buffer.from(bytes);
  t.bytes.forEach((b, i) => {
    if (at + i < out.length) out[at + i] = b;
  });
  return out;
}

describe("tampered stored text", () => {
  const signed = vectors.map(({ record }) =>
    canonicalRecordText(signRecord(sealed(record), KEY, "2026-03-01T09:15:03Z")),
  );
  const texts = [...vectors.map(({ record }) => canonicalRecordText(record)), ...signed];

  it("gets the same result from the fast path as from the full parse, and fails unless only an unhashed field changed", () => {
    fc.assert(
      fc.property(fc.constantFrom(...texts), tamperArb, fc.constantFrom(...OPTION_SETS), (text, tamper, opts) => {
        const bytes = applyTamper(text, tamper);
        const expected = full(bytes, opts);
        const got = fast(bytes, opts);
        if (got !== null) expect(got).toEqual(expected);
        expect(verifyStored(bytes, idIn(bytes), opts, fastFirst)).toEqual(expected);
        expectScratchAgrees(bytes, opts, expected, "tampered");
        expect(() => verifyStored(bytes, idIn(bytes), opts, fastFirst)).not.toThrow();
        if (expected.ok && !bytes.equals(Buffer.from(text, "latin1"))) {
          // Only the signature fields (outside record_hash) may have changed: the hashed text is the original's.
          const changed = readRecordText(bytes.toString("utf8"));
          expect(hashingText(changed)).toBe(hashingText(readRecordText(text)));
          expect(canonicalRecordText(changed)).toBe(bytes.toString("utf8"));
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("fails, and the same on both paths, for text that holds the same record in another spelling", () => {
    const text = canonicalRecordText(vectors.find((v) => v.name.startsWith("retrieval"))?.record as ContextRecord);
    const variants: Record<string, string> = {
      "pretty-printed": JSON.stringify(JSON.parse(text), null, 2),
      "a space inside integrity": text.replace('"integrity":{"content_hash"', '"integrity":{ "content_hash"'),
      "integrity keys reordered": text.replace(
        /"integrity":\{("content_hash":"[^"]*"),("previous_context_id":(?:null|"[^"]*")),/,
        '"integrity":{$2,$1,',
      ),
      "an escaped letter in content_hash": text.replace('"content_hash":"sha256:d', '"content_hash":"sha256:\\u0064'),
      "signed_at not in normal form": text.replace(
        '"signed_at":"2026-03-01T09:15:03Z"',
        '"signed_at":"2026-03-01T09:15:03+00:00"',
      ),
      "a repeated integrity member": text.replace('"signature":', '"signature":null,"signature":'),
      "an uppercase escape in content": text.replace("\\u007f", "\\u007F"),
      "a newline spelled \\u000a in content": text.replace("System.\\n", "System.\\u000a"),
    };
    for (const [label, variant] of Object.entries(variants)) {
      expect(variant, label).not.toBe(text);
      const result = verifyStored(variant, idIn(variant), {}, fastFirst);
      expect(result.ok, label).toBe(false);
      expect(result.failed?.name, label).toBe("record_hash");
      expect(result, label).toEqual(verifyStoredFull(variant, idIn(variant)));
    }
    // Parsing and re-serializing (as for a record file) accepts the pretty-printed one: it is the same record.
    expect(verifyRecord(readRecordText(variants["pretty-printed"] as string)).ok).toBe(true);
  });

  it("reports text that is not a record as a record_hash failure with the reason, without throwing", () => {
    const text = canonicalRecordText(vectors[0]?.record as ContextRecord);
    const cases: [string, RegExp][] = [
      [text.slice(0, -1), /^Invalid JSON in ctx_test at line 1, column \d+: /],
      [text + " x", /^Invalid JSON in ctx_test .*unexpected text after the JSON value/],
      ["", /^Invalid JSON/],
      [
        '{"context_id":"ctx_0190a1b2-0000-7000-8000-000000000001","content":"x","integrity":{}}',
        /^Not a CRS-001 record: field `created_at`/,
      ],
      [
        text.replace('"schema_version":"1.0.0"', '"schema_version":"1.0.0","extra":1'),
        /^Not a CRS-001 record: unknown field `extra`/,
      ],
    ];
    for (const [bad, reason] of cases) {
      const result = verifyStored(bad, ID, {}, fastFirst);
      expect(result.ok).toBe(false);
      expect(result.failed).toMatchObject({ name: "record_hash", expected: "a CRS-001 record" });
      expect(result.failed?.actual).toMatch(reason);
    }
  });
});

describe("JSON string bodies read as bytes", () => {
  const decode = (quoted: string): number | Buffer => {
    const bytes = Buffer.from(quoted, "latin1");
    const end = closingQuote(bytes, 1);
    expect(end).toBe(bytes.length - 1);
    const out = Buffer.alloc(bytes.length);
    const n = unescapeUtf8(bytes, 1, end, out);
    return n < 0 ? n : out.subarray(0, n);
  };
  const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 60 }).map((u) => String.fromCharCode(...u));

  it("decode canonical escapes to the UTF-8 bytes node hashes for the string (a lone surrogate: -1, not U+FFFD)", () => {
    fc.assert(
      fc.property(fc.oneof(units, fc.string({ unit: "binary" })), (s) => {
        expect(decode(quoteString(s))).toEqual(isWellFormed(s) ? Buffer.from(s, "utf8") : -1);
      }),
      { numRuns: 2000 },
    );
  });

  it("decode every other spelling JSON allows like JSON.parse", () => {
    // Each character written as itself (when printable), a short escape, or \u with either case of hex digits.
    const spelled = units.chain((s) =>
      fc.array(fc.nat(3), { minLength: s.length, maxLength: s.length }).map((choices) => {
        let out = '"';
        [...s].forEach((ch, i) => {
          const c = ch.charCodeAt(0);
          const hex = c.toString(16).padStart(4, "0");
          const choice = choices[i] ?? 0;
          if (choice === 0 && c >= 0x20 && c < 0x7f && ch !== '"' && ch !== "\\") out += ch;
          else if (choice === 1 && ch === "/") out += "\\/";
          else if (choice === 2) out += "\\u" + hex.toUpperCase();
          else out += quoteString(ch).slice(1, -1) || "\\u" + hex;
        });
        return out + '"';
      }),
    );
    fc.assert(
      fc.property(spelled, (quoted) => {
        const s = JSON.parse(quoted) as string;
        expect(decode(quoted)).toEqual(isWellFormed(s) ? Buffer.from(s, "utf8") : -1);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuse escapes JSON does not have", () => {
    for (const bad of ['"\\x41"', '"\\u12G4"', '"\\u12"', '"ab\\u"', '"\\a"', '"\\U0041"'])
      expect(decode(bad), bad).toBe(-1);
  });

  it("find the closing quote past escaped quotes and runs of backslashes", () => {
    const bytes = Buffer.from('"a\\"b\\\\\\"c\\\\" tail"', "latin1");
    expect(closingQuote(bytes, 1)).toBe('"a\\"b\\\\\\"c\\\\'.length);
    expect(closingQuote(Buffer.from('"never closed\\"', "latin1"), 1)).toBe(-1);
  });
});
