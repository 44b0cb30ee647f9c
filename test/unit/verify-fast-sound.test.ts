// `verify --all` says "verified" only for what `verify <id>` verifies: stored text mutated (the forgeries and
// random edits) and then RE-SEALED, so both hashes match the bytes as the fast path reads them, never passes the fast
// path unless the full path passes it too. Deep nesting fails cleanly on both.
import { createHash } from "node:crypto";
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

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
/** A spec vector as the ledger stores it: its canonical text, hashes filled in. */
const vector = (name: string): string =>
  canonicalRecordText(readRecordText(readFileSync(join(VECTORS, `${name}.json`), "utf8")));
const BASES = ["plain", "empty_content"].map(vector);
const ID_OF = (text: string): string => readRecordText(text).context_id;

const sha = (s: string | Buffer): string => `sha256:${createHash("sha256").update(s).digest("hex")}`;

/**
 * What a forger does after editing stored text: recompute content_hash over the content the fast path reads (the
 * first `,"content":"` after a `}`) and record_hash over the bytes with the last integrity object in hashing form, so
 * both hashes the byte path checks match. Text where those cannot be found is returned as it is.
 */
function reseal(text: string): string {
  const keyAt = text.lastIndexOf('"integrity":{');
  if (keyAt < 0) return text;
  const start = keyAt + '"integrity":'.length;
  const end = text.indexOf("}", start) + 1;
  if (end === 0) return text;
  let previous: unknown = null;
  try {
    previous = (JSON.parse(text.slice(start, end)) as { previous_context_id?: unknown }).previous_context_id ?? null;
  } catch {
    // keep null
  }
  const contentAt = /\},"content":"/.exec(text);
  let content = "";
  if (contentAt) {
    const bodyStart = contentAt.index + '},"content":"'.length;
    let i = bodyStart;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    try {
      content = JSON.parse(`"${text.slice(bodyStart, i)}"`) as string;
    } catch {
      // content that does not decode: leave the hash over nothing
    }
  }
  const prev = JSON.stringify(previous);
  const head = `{"content_hash":"${sha(content)}","previous_context_id":${prev},"record_hash":"`;
  const tail = '","signature":null,"signed_at":null}';
  const before = text.slice(0, start);
  const after = text.slice(end);
  const recordHash = sha(before + head + tail + after);
  return before + head + recordHash + tail + after;
}

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
