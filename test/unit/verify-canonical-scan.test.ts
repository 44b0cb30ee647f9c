// The canonical scan (record/verify/canonical-scan.ts) and its byte index (byte-index.ts): the index against a plain
// loop; the golden cases (test/fixtures/canonical-scan); and the scan's claim itself — whatever it accepts parses as a
// CRS-001 record, under the row's id, whose canonical text is exactly those bytes — on byte-level mutations of
// records of many shapes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalRecordText } from "../../src/record/hash.js";
import { formatFloat, JsonFloat } from "../../src/record/json.js";
import { sealRecord } from "../../src/record/seal.js";
import { parseSigningKey, signRecord } from "../../src/record/sign.js";
import type { ContextRecord } from "../../src/record/types.js";
import { readRecordText } from "../../src/record/verify.js";
import { indexBytes, keyEntry, keysMatch } from "../../src/record/verify/byte-index.js";
import { CANONICAL_TOP_LEVEL_KEYS, scanCanonical } from "../../src/record/verify/canonical-scan.js";
import { verifyStoredFull } from "../../src/record/verify/stored-full.js";
import { CASES } from "../fixtures/canonical-scan/cases.js";
import { resealStructural } from "../helpers/reseal.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const vector = (name: string): ContextRecord =>
  readRecordText(readFileSync(join(FIXTURES, "crs-001", `${name}.json`), "utf8"));
const VECTORS = ["plain", "empty_content", "features_unicode_numbers", "retrieval_drops_signed"];

const resealed = (record: ContextRecord): ContextRecord =>
  sealRecord({
    ...record,
    integrity: { ...record.integrity, record_hash: "", content_hash: "", signature: null, signed_at: null },
  }).record;

/** Records of many shapes, as the ledger stores them. */
function shapes(): string[] {
  const out: string[] = [];
  const key = parseSigningKey("hex:00112233445566778899aabbccddeeff", "key-1");
  for (const name of VECTORS) {
    const r = vector(name);
    out.push(canonicalRecordText(r));
    out.push(canonicalRecordText(signRecord(resealed(r), key, "2026-03-01T09:15:03.250000Z")));
  }
  const base = vector("retrieval_drops_signed");
  out.push(
    canonicalRecordText(
      resealed({
        ...base,
        previous_context_id: undefined,
        inputs: {
          b: 1,
          a: { é: [new JsonFloat(1.5), new JsonFloat(12), 2n ** 70n, -3, null, true, false], "\u0000": "\u0001" },
          "😀": "x\ud800",
          "！": { nested: [[[]], {}] },
          __proto__x: "",
        },
        content: 'naïve 😀 "quoted" \\ back\nslash\t\u007f\u0000',
        features: [
          ...vector("features_unicode_numbers").features,
          {
            name: "f",
            entity_id: "e",
            value: { z: [1e-7, 1e21, 123.456] },
            source: "compute",
            as_of: "2024-02-29T23:59:59.000001Z",
            freshness_ms: 0,
          },
        ],
      } as unknown as ContextRecord),
    ),
  );
  return out;
}
const SHAPES = shapes();
const idOf = (text: string): string => readRecordText(text).context_id;

/** The scan's claim, checked against the strict reader and the canonical writer. */
function expectClaimHolds(text: string, id: string, label: string): boolean {
  const scan = scanCanonical(Buffer.from(text, "latin1"), id);
  if (scan === null) return false;
  let record: ContextRecord;
  try {
    record = readRecordText(text);
  } catch (err) {
    throw new Error(`${label}: the scan accepted text the reader refuses: ${(err as Error).message}`);
  }
  expect(record.context_id, label).toBe(id);
  expect(canonicalRecordText(record) === text, `${label}: the scan accepted text that is not canonical`).toBe(true);
  const content = text.indexOf('"content":"');
  expect(scan.contentStart, label).toBe(content + '"content":"'.length);
  expect(scan.integrity, label).toEqual(record.integrity);
  return true;
}

describe("the byte index", () => {
  it("lists every quote and backslash and refuses anything but printable ASCII, like a plain loop", () => {
    const byte = fc.oneof(
      fc.constantFrom(0x22, 0x5c, 0x20, 0x7e, 0x7f, 0x1f, 0x00, 0x80, 0xff, 0x0a),
      fc.integer({ min: 0x20, max: 0x7e }),
    );
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 100 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const printable = bytes.every((c) => c >= 0x20 && c <= 0x7e);
        const index = indexBytes(buf);
        if (!printable) {
          expect(index).toBeNull();
          return;
        }
        const expected = bytes.flatMap((c, i) => (c === 0x22 || c === 0x5c ? [i] : []));
        expect(Array.from(index?.positions ?? [])).toEqual(expected);
        expect(index?.bytes.equals(buf)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("compares the listed keys with the text like a plain loop, every length and offset", () => {
    // keys of 1..30 bytes (the table is the module's, shared with the scan's schema: a few, registered once)
    const keys = Array.from({ length: 30 }, (_, n) =>
      Buffer.from(`,"${"abcdefghijklmnopqrstuvwxyz01234".slice(0, n + 1)}":`.slice(0, n + 1)),
    );
    const entries = keys.map((k) => keyEntry(k));
    let matched = 0;
    let differed = 0;
    const pair = fc.record({ key: fc.nat(keys.length - 1), at: fc.nat(120), plant: fc.boolean(), flip: fc.nat(40) });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0x20, max: 0x7e }), { minLength: 1, maxLength: 160 }),
        fc.array(pair, { maxLength: 6 }),
        (bytes, pairs) => {
          const buf = Buffer.from(bytes);
          const listed = pairs
            .map((p) => ({ ...p, key: keys[p.key] as Buffer, entry: entries[p.key] as number }))
            .filter((p) => p.at + p.key.length <= buf.length);
          for (const p of listed) {
            if (!p.plant) continue;
            p.key.copy(buf, p.at); // often a match, sometimes off by one byte
            if (p.flip < p.key.length && p.flip % 3 === 0) buf[p.at + p.flip] = (buf[p.at + p.flip] as number) ^ 0x01;
          }
          const index = indexBytes(buf);
          if (index === null) return; // a flip made a byte unprintable: nothing to compare
          let k = index.keysFrom;
          for (const p of listed) {
            index.keys[k++] = p.at;
            index.keys[k++] = p.entry;
          }
          const expected = listed.every((p) => buf.subarray(p.at, p.at + p.key.length).equals(p.key));
          expect(keysMatch(listed.length)).toBe(expected);
          if (expected) matched++;
          else differed++;
        },
      ),
      { numRuns: 3000 },
    );
    expect(Math.min(matched, differed)).toBeGreaterThan(20); // both verdicts, many times
  });

  it("grows its memory for large rows and keeps working after", () => {
    for (const n of [16, 32, 65_536, 300_001, 10]) {
      const buf = Buffer.alloc(n, 0x61);
      buf[n - 1] = 0x22;
      const index = indexBytes(buf);
      expect(Array.from(index?.positions ?? [])).toEqual([n - 1]);
      buf[0] = 0x0a;
      expect(indexBytes(buf)).toBeNull();
    }
  });
});

describe("the canonical scan", () => {
  it("accepts every record shape intact, and knows the schema's top-level keys in canonical order", () => {
    for (const text of SHAPES) expect(expectClaimHolds(text, idOf(text), "intact"), text.slice(0, 80)).toBe(true);
    expect(CANONICAL_TOP_LEVEL_KEYS).toEqual(Object.keys(JSON.parse(SHAPES[0] as string)));
  });

  it("refuses a row filed under another id, or a record whose id is not in normal form", () => {
    const text = SHAPES[0] as string;
    const id = idOf(text);
    expect(scanCanonical(Buffer.from(text), "ctx_0190a1b2-0000-7000-8000-00000000ffff")).toBeNull();
    expect(scanCanonical(Buffer.from(text), id.toUpperCase())).toBeNull();
    const twin = text.replace(id, id.toUpperCase().replace("CTX_", "ctx_"));
    expect(scanCanonical(Buffer.from(twin), id.toUpperCase().replace("CTX_", "ctx_"))).toBeNull();
  });

  it("golden cases: the scan and the full path give cases.json's verdicts, and scan ⇒ full", () => {
    const file = join(FIXTURES, "canonical-scan", "cases.json");
    // After changing cases.ts: FABRA_REGENERATE_GOLDEN=1 npx vitest run test/unit/verify-canonical-scan.test.ts
    if (process.env.FABRA_REGENERATE_GOLDEN === "1") {
      const out = CASES.map(([name, edit, base]) => {
        const original = canonicalRecordText(vector(base ?? "plain"));
        const text = resealStructural(edit(original));
        const id = idOf(original);
        const scan = scanCanonical(Buffer.from(text, "utf8"), id) !== null;
        return { name, text, scan, full: verifyStoredFull(text, id).ok };
      });
      writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
    }
    const golden = JSON.parse(readFileSync(file, "utf8")) as {
      name: string;
      text: string;
      scan: boolean;
      full: boolean;
    }[];
    expect(golden.map((g) => g.name)).toEqual(CASES.map(([name]) => name));
    for (const [i, [name, edit, base]] of CASES.entries()) {
      const g = golden[i] as (typeof golden)[number];
      const original = canonicalRecordText(vector(base ?? "plain"));
      expect(resealStructural(edit(original)), `${name}: cases.ts and cases.json disagree`).toBe(g.text);
      const id = idOf(original);
      const scan = scanCanonical(Buffer.from(g.text, "utf8"), id) !== null;
      const full = verifyStoredFull(g.text, id).ok;
      expect({ name, scan, full }).toEqual({ name, scan: g.scan, full: g.full });
      if (scan) expect(full, `${name}: the scan accepted what the full path refuses`).toBe(true);
    }
  });

  it("a decimal of 16-18 significant digits (a similarity score) is accepted exactly when it is canonical", () => {
    // the digits a double needs, and their near misses: the scan tries a guessed double and its neighbours first
    const base = canonicalRecordText(vector("plain"));
    const id = idOf(base);
    const x = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }));
    const tweak = (t: string, d: number): string => {
      const last = t.charCodeAt(t.length - 1) - 0x30;
      return last >= 0 && last <= 9 ? t.slice(0, -1) + String((last + 10 + d) % 10) : t;
    };
    const spelling = fc.oneof(
      x.map((v) => formatFloat(v)),
      fc.tuple(x, fc.constantFrom(-2, -1, 1, 2)).map(([v, d]) => tweak(formatFloat(v), d)),
      fc.tuple(x, fc.constantFrom(16, 17, 18)).map(([v, p]) => v.toPrecision(p)),
    );
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(spelling, (t) => {
        const text = resealStructural(base.replace(/,"inputs":\{/, `,"inputs":{"a":${t},`));
        const n = Number(t);
        const canonical = /^-?\d+$/.test(t) ? t === BigInt(t).toString() : Number.isFinite(n) && formatFloat(n) === t;
        const parses = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(t);
        const ok = scanCanonical(Buffer.from(text), id) !== null;
        expect(ok, t).toBe(parses && canonical);
        if (ok) accepted++;
        else refused++;
      }),
      { numRuns: 3000 },
    );
    expect(Math.min(accepted, refused)).toBeGreaterThan(300);
  });

  it("a number in inputs is accepted exactly when it is the canonical writer's spelling of its value", () => {
    const base = canonicalRecordText(vector("plain"));
    const id = idOf(base);
    const spelling = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => formatFloat(x)),
      fc
        .tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom("0", "00", "1", "e+01", "E5"))
        .map(([x, tail]) => formatFloat(x) + tail),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x.toFixed(Math.floor(Math.abs(x) % 20))),
      fc.bigInt().map((n) => n.toString()),
      fc.constantFrom(
        "-0",
        "0",
        "01",
        "1e400",
        "-1e400",
        "0.0001",
        "0.00001",
        "1e-05",
        "1e+16",
        "1000000000000000.0",
        "9999999999999998.0",
        "0.30000000000000004",
        "100.0",
        "-0.0",
        "0.0",
        "0.00",
      ),
    );
    fc.assert(
      fc.property(spelling, (t) => {
        const text = resealStructural(base.replace(/,"inputs":\{/, `,"inputs":{"a":${t},`));
        const n = Number(t);
        const isInt = /^-?\d+$/.test(t);
        const canonical = isInt ? t === BigInt(t).toString() : Number.isFinite(n) && formatFloat(n) === t;
        const parses = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(t);
        expect(scanCanonical(Buffer.from(text), id) !== null, t).toBe(parses && canonical);
      }),
      { numRuns: 3000 },
    );
  });

  it("byte-level mutations of every shape: whatever the scan accepts is a valid record whose canonical text it is", () => {
    const fragment = fc.oneof(
      fc.constantFrom(
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
        "1.50",
        "-0",
        "-0.0",
        "1E+16",
        "1e+16",
        "null",
        "true",
        "false",
        "0",
        "01",
        "\\u0041",
        "\\u00e9",
        "\\u00E9",
        "\\ud800",
        "\\ud83d\\ude00",
        "\\/",
        "\\n",
        "\\u000a",
        '"a":1,',
        ',"a":1',
        '"content":"x",',
        '"integrity":{},',
        "Z",
        "+05:30",
        ".000000",
        "2024-02-30",
        "\u007f",
        "\u00e9",
        "\u0000",
      ),
      fc.string({ maxLength: 3 }),
    );
    const edit = fc.record({
      where: fc.double({ min: 0, max: 1, noNaN: true }),
      cut: fc.nat(6),
      insert: fragment,
      kind: fc.constantFrom("splice", "flip", "duplicate", "swap"),
      other: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...SHAPES),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (base, edits, reseal) => {
          let text = base;
          for (const e of edits) {
            const at = Math.floor(e.where * text.length);
            const to = Math.min(text.length, at + e.cut);
            if (e.kind === "splice") text = text.slice(0, at) + e.insert + text.slice(to);
            else if (e.kind === "flip")
              text =
                text.slice(0, at) +
                String.fromCharCode((text.charCodeAt(at) ^ (1 << (e.cut % 7))) & 0x7f) +
                text.slice(at + 1);
            else if (e.kind === "duplicate") text = text.slice(0, to) + text.slice(at, to) + text.slice(to);
            else {
              const b = Math.floor(e.other * text.length);
              const [x, y] = at < b ? [at, b] : [b, at];
              text =
                text.slice(0, x) +
                text.slice(y, y + e.cut) +
                text.slice(x + e.cut, y) +
                text.slice(x, x + e.cut) +
                text.slice(y + e.cut);
            }
          }
          if (reseal) text = resealStructural(text);
          if (expectClaimHolds(text, idOf(base), JSON.stringify(edits))) accepted++;
        },
      ),
      { numRuns: 3000 },
    );
    expect(accepted, "no mutation was accepted: the property would be vacuous").toBeGreaterThan(50);
  });
});
