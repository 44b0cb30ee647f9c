// `verify --all` says "verified" only for what `verify <id>` verifies: stored text mutated (the forgeries and
// random edits) and then RE-SEALED, so both hashes match the bytes as the fast path reads them, never passes the fast
// path unless the full path passes it too. Deep nesting fails cleanly on both.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { recordToRow } from "../../src/engine/ledger/rows.js";
import { verifyLedgerRow, verifyRawLedgerRow } from "../../src/engine/ledger/verify-rows.js";
import { canonicalRecordText } from "../../src/record/hash.js";
import { readRecordText, verifyStored } from "../../src/record/verify.js";
import { verifyStoredFast } from "../../src/record/verify/stored-fast.js";
import { verifyStoredFull } from "../../src/record/verify/stored-full.js";
import type { LedgerRow } from "../../src/stores/types.js";
import { resealBytes, resealStructural } from "../helpers/reseal.js";
import { parseSigningKey, signRecord } from "../../src/record/sign.js";
import { sealRecord } from "../../src/record/seal.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
/** A spec vector as the ledger stores it: its canonical text, hashes filled in. */
const vector = (name: string): string =>
  canonicalRecordText(readRecordText(readFileSync(join(VECTORS, `${name}.json`), "utf8")));
const BASES = ["plain", "empty_content"].map(vector);
/** Every spec vector, signed and unsigned: records with features, retrieved items, drops, unicode, numbers. */
const SHAPES = ["plain", "empty_content", "features_unicode_numbers", "retrieval_drops_signed"].flatMap((name) => {
  const record = readRecordText(readFileSync(join(VECTORS, `${name}.json`), "utf8"));
  const unsigned = sealRecord({
    ...record,
    integrity: { ...record.integrity, record_hash: "", content_hash: "", signature: null, signed_at: null },
  }).record;
  const key = parseSigningKey("hex:00112233445566778899aabbccddeeff", "key-1");
  return [canonicalRecordText(record), canonicalRecordText(signRecord(unsigned, key, "2026-03-01T09:15:03.250000Z"))];
});
const ID_OF = (text: string): string => readRecordText(text).context_id;

/** The forger's tools (test/helpers/reseal.ts): by byte search, as the old fast path found the parts, and by parsing. */
const reseal = resealBytes;

/** A ledger row filed under `id` holding `text` as its bytes, with the record_hash column the text claims. */
function rowOf(text: string, id: string): LedgerRow {
  const claimed = /"record_hash":"([^"]*)"/.exec(text.slice(text.lastIndexOf('"integrity":{')))?.[1] ?? "";
  return {
    contextId: id,
    createdAt: "2024-01-01T00:00:00.000000Z",
    contextFunction: "f",
    environment: "development",
    tokenCount: 0,
    recordHash: claimed,
    previousContextId: null,
    canonicalText: text,
  };
}

/** fast ok ⇒ full ok, at every level `verify --all` and `verify <id>` see the row. */
function expectSound(text: string, id: string, label: string): boolean {
  const bytes = Buffer.from(text, "utf8");
  const fast = verifyStoredFast(Buffer.from(bytes), id, {});
  const full = verifyStoredFull(text, id, {});
  if (fast?.ok) expect(full.ok, `${label}: fast path confirmed what the full path refuses`).toBe(true);
  const row = rowOf(text, id);
  const all = verifyRawLedgerRow(
    { contextId: id, createdAt: row.createdAt, recordHash: row.recordHash, canonicalBytes: Buffer.from(bytes) },
    {},
    true,
  );
  const one = verifyLedgerRow(row, {});
  if (all.ok) expect(one.ok, `${label}: verify --all passes what verify <id> refuses`).toBe(true);
  expect(verifyStored(text, id, {}, { fast: true }).ok, label).toBe(full.ok);
  return fast?.ok === true;
}

const DEEP = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;

/** The list: each edit, re-sealed, must not pass `verify --all` (or anything else). */
const FORGERIES: [string, (t: string) => string][] = [
  ["not JSON", (t) => t.replace("{", "<")],
  ["leading garbage", (t) => `x${t}`],
  ["trailing garbage", (t) => `${t}x`],
  ["leading whitespace", (t) => ` ${t}`],
  ["a second top-level content", (t) => t.replace('{"assembly":', '{"content":"FORGED","assembly":')],
  [
    "a second top-level integrity",
    (t) => t.replace('{"assembly":', `{"integrity":${t.slice(t.lastIndexOf('"integrity":{') + 12, -1)},"assembly":`),
  ],
  ["duplicate inputs", (t) => t.replace(',"inputs":', ',"inputs":{"forged":true},"inputs":')],
  ["duplicate features", (t) => t.replace(',"features":', ',"features":[],"features":')],
  ["NaN", (t) => t.replace(/"token_count":\d+\}$/, '"token_count":NaN}')],
  [
    "1e400",
    (t) => t.replace(',"inputs":', ',"inputs":{"n":1e400},"zz_after":0,"inputs":').replace(',"zz_after":0', ""),
  ],
  ["1e400 in a value", (t) => t.replace(/,"inputs":\{/, ',"inputs":{"big":1e400,')],
  ["an unknown field", (t) => t.replace(',"inputs":', ',"forged":1,"inputs":')],
  ["20,000-deep nesting", (t) => t.replace(/,"inputs":\{/, `,"inputs":{"deep":${DEEP},`)],
  ["a key twice inside inputs", (t) => t.replace(/,"inputs":\{/, ',"inputs":{"a":1,"a":2,')],
  ["the row under another id", (t) => t],
];

describe("the fast path only confirms what the full path verifies", () => {
  it("confirms the intact vectors (so the property below is not vacuous)", () => {
    for (const text of BASES) expect(verifyStoredFast(Buffer.from(text), ID_OF(text), {})?.ok).toBe(true);
  });

  it.each(FORGERIES)("re-sealed forgery: %s — refused by verify --all as by verify <id>", (label, edit) => {
    for (const base of BASES) {
      const forged = reseal(edit(base));
      expect(forged, label).not.toBe(base);
      const id = label === "the row under another id" ? "ctx_0190a1b2-0000-7000-8000-00000000ffff" : ID_OF(base);
      expect(expectSound(forged, id, label), `${label}: confirmed by the fast path`).toBe(false);
      const all = verifyRawLedgerRow(
        { contextId: id, createdAt: "2024-01-01T00:00:00Z", recordHash: "", canonicalBytes: Buffer.from(forged) },
        {},
        true,
      );
      expect(all.ok, `${label}: verify --all`).toBe(false);
    }
  });

  it("re-sealing alone keeps an intact record verifying (the forger's tool is right)", () => {
    for (const base of BASES) {
      expect(expectSound(reseal(base), ID_OF(base), "re-sealed intact")).toBe(true);
      expect(expectSound(base, ID_OF(base), "intact")).toBe(true);
    }
  });

  it("any edit, re-sealed: fast ok ⇒ full ok", () => {
    const fragment = fc.constantFrom(
      "",
      "{",
      "}",
      "[",
      "]",
      ",",
      ":",
      '"',
      "\\",
      " ",
      "\n",
      "NaN",
      "1e400",
      "12.0",
      "-0",
      "null",
      "true",
      '"content":"x",',
      '"integrity":{},',
      '"inputs":{},',
      '"features":[],',
      '"zz":1,',
      ',"a":1',
      '"a":1,"a":2',
      ',"content":"',
      '"integrity":{',
      "\u00e9",
      "\u0000",
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...BASES),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(8), fragment), {
          minLength: 1,
          maxLength: 3,
        }),
        (base, edits) => {
          let text = base;
          for (const [where, cut, insert] of edits) {
            const at = Math.floor(where * text.length);
            text = text.slice(0, at) + insert + text.slice(Math.min(text.length, at + cut));
          }
          expectSound(reseal(text), ID_OF(base), JSON.stringify(edits));
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe("byte-level mutations of every shape, re-sealed both ways: fast ok ⇒ full ok", () => {
  it("flips, splices, duplications and swaps of bytes", () => {
    const edit = fc.record({
      where: fc.double({ min: 0, max: 1, noNaN: true }),
      other: fc.double({ min: 0, max: 1, noNaN: true }),
      cut: fc.nat(8),
      bit: fc.nat(7),
      insert: fc.oneof(
        fc.string({ maxLength: 4 }),
        fc.constantFrom('"', "\\", "\\u0041", "\\ud800", "1.50", "-0", "1e400", '"a":1,', '"integrity":{},', " "),
      ),
      kind: fc.constantFrom("flip", "splice", "duplicate", "swap"),
    });
    let confirmed = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...SHAPES),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (base, edits, structural) => {
          let text = base;
          for (const e of edits) {
            const at = Math.floor(e.where * text.length);
            const to = Math.min(text.length, at + e.cut);
            if (e.kind === "flip") {
              const c = String.fromCharCode(text.charCodeAt(at) ^ (1 << e.bit));
              text = text.slice(0, at) + c + text.slice(at + 1);
            } else if (e.kind === "splice") text = text.slice(0, at) + e.insert + text.slice(to);
            else if (e.kind === "duplicate") text = text.slice(0, to) + text.slice(at, to) + text.slice(to);
            else {
              const b = Math.floor(e.other * text.length);
              const [x, y] = at < b ? [at, b] : [b, at];
              const n = Math.min(e.cut, y - x);
              text =
                text.slice(0, x) +
                text.slice(y, y + n) +
                text.slice(x + n, y) +
                text.slice(x, x + n) +
                text.slice(y + n);
            }
          }
          const forged = structural ? resealStructural(text) : resealBytes(text);
          if (expectSound(forged, ID_OF(base), JSON.stringify(edits))) confirmed++;
        },
      ),
      { numRuns: 2500 },
    );
    // Edits inside strings and numbers keep a record canonical: some must have been confirmed (and proved sound).
    expect(confirmed).toBeGreaterThan(50);
  });
});

describe("deep nesting fails cleanly", () => {
  it("in readRecordText (show, import, --file, the routes): INVALID_JSON, not a stack overflow", () => {
    const text = BASES[0]?.replace(/,"inputs":\{/, `,"inputs":{"deep":${DEEP},`) as string;
    expect(() => readRecordText(text)).toThrow(expect.objectContaining({ code: "INVALID_JSON" }));
    expect(() => readRecordText(text)).toThrow(/nested deeper than 512 levels/);
  });

  it("in verify <id> and verify --all: a verification failure naming the reason", () => {
    const text = reseal(BASES[0]?.replace(/,"inputs":\{/, `,"inputs":{"deep":${DEEP},`) as string);
    const id = ID_OF(BASES[0] as string);
    const one = verifyLedgerRow(rowOf(text, id), {});
    expect(one.ok).toBe(false);
    expect(one.failed?.actual).toMatch(/nested deeper than 512 levels/);
    const all = verifyRawLedgerRow(
      { contextId: id, createdAt: "2024-01-01T00:00:00Z", recordHash: "", canonicalBytes: Buffer.from(text) },
      {},
      true,
    );
    expect(all.failed?.actual).toMatch(/nested deeper than 512 levels/);
  });

  it("a record 600 levels deep (JSON.parse reads it, the reader refuses it) is not confirmed by the fast path", () => {
    const nest = `${"[".repeat(600)}${"]".repeat(600)}`;
    const text = reseal(BASES[0]?.replace(/,"inputs":\{/, `,"inputs":{"deep":${nest},`) as string);
    expect(expectSound(text, ID_OF(BASES[0] as string), "600 deep")).toBe(false);
  });
});

describe("twins", () => {
  it("a record under CTX_…, a trailing space or uppercase hex is not a record", () => {
    const base = BASES[0] as string;
    const id = ID_OF(base);
    for (const twin of [id.replace("ctx_", "CTX_"), `${id} `, `ctx_${id.slice(4).toUpperCase()}`]) {
      const forged = reseal(base.replace(`"context_id":"${id}"`, `"context_id":${JSON.stringify(twin)}`));
      expect(() => readRecordText(forged)).toThrow(/normal form/);
      expect(expectSound(forged, twin, twin)).toBe(false);
      expect(verifyLedgerRow(rowOf(forged, twin), {}).ok).toBe(false);
    }
  });

  it("the Ledger's row shape keeps the id the record has", () => {
    expect(recordToRow(readRecordText(BASES[0] as string)).contextId).toBe(ID_OF(BASES[0] as string));
  });
});
