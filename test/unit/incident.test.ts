// The incident desk's pieces: the backfill budget strategy, the two freshness clocks, key order restored from the
// original content, and the pack (summary.md inert whatever the record holds; a zip bomb or a zip without a
// record refused before anything is inflated).
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { applyBudget, type BudgetItem } from "../../src/engine/context/budget.js";
import { judgeFreshness } from "../../src/engine/context/freshness.js";
import { keyOrderFrom, samePartsReordered } from "../../src/engine/context/key-order.js";
import { block, code } from "../../src/engine/ledger/pack-summary.js";
import { isZip, readPack } from "../../src/engine/ledger/pack.js";
import { isFabraError } from "../../src/errors.js";

const words = (text: string) => (text.match(/\S+/g) ?? []).length;
const item = (key: string, nWords: number, priority: number, index: number, required = false): BudgetItem => ({
  key,
  content: Array.from({ length: nWords }, (_, i) => `${key}${i}`).join(" "),
  priority,
  required,
  tokens: nWords,
  index,
});

describe("budget strategy backfill", () => {
  // One token a word, a 10-token budget over 13: drop order is d (priority 3), then c (2). Dropping d leaves 12, so
  // c goes too (9). Backfill then retries the dropped ones, most important first: c (12, no), d (10, yes).
  const items = [item("a", 4, 0, 0, true), item("b", 5, 1, 1), item("c", 3, 2, 2), item("d", 1, 3, 3)];

  it("drop keeps the Python rule: the fewest drops in drop order", () => {
    const r = applyBudget(items, 10, words, " ");
    expect(r.included.map((i) => i.key)).toEqual(["a", "b"]);
    expect(r.dropped.map((d) => d.item.key)).toEqual(["d", "c"]);
    expect(r.tokensUsed).toBe(9);
  });

  it("backfill puts back a smaller dropped item that fits the room left, recording the rest as dropped", () => {
    const r = applyBudget(items, 10, words, " ", undefined, "backfill");
    expect(r.included.map((i) => i.key)).toEqual(["a", "b", "d"]);
    expect(r.dropped.map((d) => ({ key: d.item.key, reason: d.reason }))).toEqual([
      { key: "c", reason: "budget_exceeded" },
    ]);
    expect(r.tokensUsed).toBe(10);
    expect(r.budgetExceeded).toBe(false);
  });

  it("backfill changes nothing when nothing was dropped, or when required items alone are over", () => {
    expect(applyBudget(items, 100, words, " ", undefined, "backfill").dropped).toEqual([]);
    const over = applyBudget(items, 3, words, " ", undefined, "backfill");
    expect(over.budgetExceeded).toBe(true);
    expect(over.included.map((i) => i.key)).toEqual(["a"]);
  });
});

describe("freshness: features and chunks on their own clocks", () => {
  const input = {
    features: [{ name: "tier", freshness_ms: 10 }],
    chunks: [
      { chunk_id: "doc#0", freshness_ms: 600_000, included: true },
      { chunk_id: "doc#1", freshness_ms: 900_000, included: false },
    ],
  };
  it("freshnessSla judges features only: week-old docs do not degrade every context", () => {
    expect(judgeFreshness({ featuresMs: 1000, chunksMs: null }, input)).toEqual({
      status: "guaranteed",
      violations: [],
    });
  });
  it("chunkFreshnessSla judges included chunks; dropped ones never count", () => {
    expect(judgeFreshness({ featuresMs: null, chunksMs: 300_000 }, input)).toEqual({
      status: "degraded",
      violations: ["doc#0"],
    });
    expect(judgeFreshness({ featuresMs: 5, chunksMs: 300_000 }, input).violations).toEqual(["tier", "doc#0"]);
    expect(judgeFreshness({ featuresMs: null, chunksMs: null }, input).status).toBe("unknown");
  });
});

describe("key order from the original content", () => {
  it("puts keys back in the order the content shows them, deeply; keys it does not show keep their place after", () => {
    const content = 'Profile: {"tier":"gold","name":"Ada","address":{"zip":"1","city":"X"}}';
    const sorted = { address: { city: "X", zip: "1" }, extra: 1, name: "Ada", tier: "gold" };
    const restored = keyOrderFrom(content, sorted) as Record<string, unknown>;
    expect(JSON.stringify(restored)).toBe('{"tier":"gold","name":"Ada","address":{"zip":"1","city":"X"},"extra":1}');
    expect(keyOrderFrom("tier: gold, name: Ada", { name: "Ada", tier: "gold" })).toEqual({ tier: "gold", name: "Ada" });
    expect(Object.keys(keyOrderFrom("tier: gold, name: Ada", { name: "Ada", tier: "gold" }) as object)).toEqual([
      "tier",
      "name",
    ]);
    expect(keyOrderFrom("x", [1, "a"])).toEqual([1, "a"]);
  });
  it("tells a reordering from a change", () => {
    expect(samePartsReordered('{"a":1,"b":2}', '{"b":2,"a":1}')).toBe(true);
    expect(samePartsReordered('{"a":1,"b":2}', '{"a":1,"b":3}')).toBe(false);
    expect(samePartsReordered("same", "same")).toBe(false);
  });
});

describe("pack", () => {
  it("summary.md keeps untrusted text inert: code spans and fences outlast any backticks inside", () => {
    expect(code("a`b")).toBe("``a`b``");
    expect(code("`x`")).toBe("`` `x` ``");
    expect(code("two\nlines")).toBe("`two lines`");
    const evil = "```\n<img src=x onerror=alert(1)>\n[click](javascript:alert(1))\n````";
    const fenced = block(evil);
    expect(fenced.startsWith("`````text\n")).toBe(true);
    expect(fenced.endsWith("\n`````")).toBe(true);
  });

  it("reads the record and proof of a pack, and refuses a bomb or a pack without a record before inflating", () => {
    const pack = zipSync({
      "record.json": strToU8('{"x":1}\n'),
      "proof.json": strToU8("{}"),
      "other.bin": new Uint8Array(10),
    });
    expect(isZip(pack)).toBe(true);
    expect(isZip(strToU8("{}"))).toBe(false);
    expect(readPack(pack, "p.zip", 1024)).toEqual({ recordText: '{"x":1}\n', proofText: "{}" });

    const bomb = zipSync({ "record.json": new Uint8Array(5_000_000) }, { level: 9 });
    expect(bomb.length).toBeLessThan(20_000);
    let err: unknown;
    try {
      readPack(bomb, "bomb.zip", 1_000_000);
    } catch (e) {
      err = e;
    }
    expect(isFabraError(err) && err.code).toBe("PAYLOAD_TOO_LARGE");
    expect(() => readPack(zipSync({ "summary.md": strToU8("hi") }), "empty.zip", 1024)).toThrow(
      /holds no record\.json/,
    );

    // A header that lies about the size inflates no more than it declares (the rest is cut off, so it fails to parse).
    const lying = zipSync({ "record.json": new Uint8Array(5_000_000) }, { level: 9 });
    const view = new DataView(lying.buffer);
    view.setUint32(22, 100, true); // the local header's uncompressed size
    for (let i = lying.length - 22; i >= 0; i--)
      if (view.getUint32(i, true) === 0x02014b50) {
        view.setUint32(i + 24, 100, true); // the central directory's
        break;
      }
    expect(readPack(lying, "lying.zip", 1_000_000).recordText.length).toBe(100);
  });
});
