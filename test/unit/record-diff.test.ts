// Record diff: the sequence diff is a correct, minimal edit script; record diffs of fixed CRS-001 pairs match their
// golden text and JSON; the result does not depend on the order of features or chunks in a record.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import chalk from "chalk";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { renderDiff } from "../../src/cli/render/diff-view.js";
import { compareRecords } from "../../src/engine/ledger/compare.js";
import { comparisonJson } from "../../src/api/shapes.js";
import { diffRecords, editScript, similarityRatio, unifiedHunks } from "../../src/record/diff.js";
import { readRecordText, verifyRecord, type ContextRecord } from "../../src/record/index.js";
import { toJsonText } from "../../src/record/json.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const DIFF_PAIRS = [
  { name: "features", a: "features_unicode_numbers" },
  { name: "retrieval", a: "retrieval_drops_signed" },
  { name: "same-evidence", a: "plain" },
] as const;

const load = (path: string) => readRecordText(readFileSync(path, "utf8"), path);
const pair = (p: (typeof DIFF_PAIRS)[number]) => ({
  a: load(join(FIXTURES, "crs-001", `${p.a}.json`)),
  b: load(join(FIXTURES, "diff", `${p.name}.b.json`)),
});

type EditOp = { op: "equal" | "delete" | "insert"; a: number; b: number };

/** jsdiff's change runs as one op per element, `a`/`b` the indexes it refers to. */
function diffSequences(a: string[], b: string[], maxEdits?: number): EditOp[] {
  const ops: EditOp[] = [];
  let i = 0;
  let j = 0;
  for (const change of editScript(a, b, maxEdits)) {
    for (let n = 0; n < change.count; n++) {
      if (change.added) ops.push({ op: "insert", a: i, b: j++ });
      else if (change.removed) ops.push({ op: "delete", a: i++, b: j });
      else ops.push({ op: "equal", a: i++, b: j++ });
    }
  }
  return ops;
}

/** Applies an edit script to `a`; must give `b`. */
function apply(a: string[], b: string[], ops: EditOp[]): string[] {
  return ops.flatMap((o) => (o.op === "equal" ? [a[o.a] as string] : o.op === "insert" ? [b[o.b] as string] : []));
}

function lcsLength(a: string[], b: string[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = a[i - 1] === b[j - 1] ? dp[i - 1]![j - 1]! + 1 : Math.max(dp[i - 1]![j]!, dp[i]![j - 1]!);
    }
  }
  return dp[a.length]![b.length]!;
}

describe("sequence diff", () => {
  const seq = fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 30 });

  it("gives an edit script that turns a into b, keeping a longest common subsequence", () => {
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const ops = diffSequences(a, b);
        expect(apply(a, b, ops)).toEqual(b);
        expect(ops.filter((o) => o.op !== "insert").map((o) => a[o.a])).toEqual(a);
        expect(ops.filter((o) => o.op === "equal").length).toBe(lcsLength(a, b));
      }),
      { numRuns: 300 },
    );
  });

  it("stays correct (if not minimal) when the edit budget runs out", () => {
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const ops = diffSequences(a, b, 2);
        expect(apply(a, b, ops)).toEqual(b);
      }),
      { numRuns: 200 },
    );
  });

  it("writes unified hunks with line numbers and three lines of context", () => {
    const a = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];
    const b = ["1", "2", "three", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"];
    const lines = unifiedHunks(a, b);
    expect(lines).toEqual([
      "@@ -1,6 +1,6 @@",
      " 1",
      " 2",
      "-3",
      "+three",
      " 4",
      " 5",
      " 6",
      "@@ -10,3 +10,4 @@",
      " 10",
      " 11",
      " 12",
      "+13",
    ]);
    expect(unifiedHunks([], ["x"])).toEqual(["@@ -0,0 +1 @@", "+x"]);
    expect(similarityRatio(a, b)).toBeCloseTo(22 / 25, 10);
  });
});

describe("content line diff (jsdiff)", () => {
  it("keeps carriage returns and trailing empty lines, never a 'No newline' marker", () => {
    expect(unifiedHunks(["a\r", "b"], ["a\r", "c"])).toEqual(["@@ -1,2 +1,2 @@", " a\r", "-b", "+c"]);
    expect(unifiedHunks(["a", ""], ["a"])).toEqual(["@@ -1,2 +1 @@", " a", "-"]);
    expect(unifiedHunks(["x"], [])).toEqual(["@@ -1 +0,0 @@", "-x"]);
  });

  it("shows the changed middle replaced wholesale, with context, once the line edit budget runs out", () => {
    const middle = (tag: string) => Array.from({ length: 2100 }, (_, i) => `${tag}${i}`);
    const a = ["h1", "h2", "h3", "h4", ...middle("a"), "t1", "t2", "t3", "t4"];
    const b = ["h1", "h2", "h3", "h4", ...middle("b"), "t1", "t2", "t3", "t4"];
    const lines = unifiedHunks(a, b);
    expect(lines[0]).toBe("@@ -2,2106 +2,2106 @@");
    expect(lines.slice(1, 5)).toEqual([" h2", " h3", " h4", "-a0"]);
    expect(lines.filter((l) => l.startsWith("-"))).toHaveLength(2100);
    expect(lines.filter((l) => l.startsWith("+"))).toHaveLength(2100);
    expect(lines.slice(-3)).toEqual([" t1", " t2", " t3"]);
    expect(lines).toHaveLength(1 + 3 + 4200 + 3);
  });

  it("counts only the common prefix and suffix as matching once the token edit budget runs out", () => {
    expect(similarityRatio(["s", "x", "y", "e"], ["s", "y", "x", "e"], 1)).toBeCloseTo(4 / 8, 10);
    expect(similarityRatio(["s", "x", "y", "e"], ["s", "y", "x", "e"])).toBeCloseTo(6 / 8, 10);
    expect(similarityRatio([], [])).toBe(1);
  });
});

describe("record diff golden files", () => {
  beforeAll(() => {
    chalk.level = 0;
  });

  for (const p of DIFF_PAIRS) {
    it(`${p.name}: text and JSON match the golden files`, async () => {
      const { a, b } = pair(p);
      const comparison = compareRecords(
        { record: a, verification: verifyRecord(a) },
        { record: b, verification: verifyRecord(b) },
      );
      expect(comparison.verified).toBe(true);
      await expect(renderDiff(comparison.diff, comparison.verification) + "\n").toMatchFileSnapshot(
        join(FIXTURES, "diff", `${p.name}.diff.txt`),
      );
      await expect(toJsonText(comparisonJson(comparison), 2) + "\n").toMatchFileSnapshot(
        join(FIXTURES, "diff", `${p.name}.diff.json`),
      );
    });
  }

  it("names every kind of change in the retrieval pair", () => {
    const d = diffRecords(pair(DIFF_PAIRS[1]).a, pair(DIFF_PAIRS[1]).b);
    expect(d.retrieved_items.added.map((c) => c.chunk_id)).toEqual(["doc_3#1"]);
    expect(d.retrieved_items.changed).toEqual([
      expect.objectContaining({
        chunk_id: "doc_1#0",
        similarity_before: 0.8912345678901235,
        similarity_after: 0.85,
        content_changed: true,
      }),
    ]);
    expect(d.dropped_items.only_in_a.map((x) => x.source_id)).toEqual(["doc_2#3"]);
    expect(d.dropped_items.only_in_b.map((x) => x.source_id)).toEqual(["doc_3#1"]);
    expect(d.tokens).toEqual({ a: 1523, b: 1490, delta: -33 });
    expect(d.content.unified.slice(0, 2)).toEqual([
      "--- a/ctx_0190a1b2-0000-7000-8000-000000000003",
      "+++ b/ctx_0190a1b2-0000-7000-8000-000000000013",
    ]);
    expect(d.summary.split("; ")[0]).toMatch(/^content \d+\.\d% similar \(\+2 -1 lines\)$/);
    expect(d.same_evidence).toBe(false);
  });

  it("keeps value kinds: 12.0 → 12.5 is a float change, shown as such", () => {
    const d = diffRecords(pair(DIFF_PAIRS[0]).a, pair(DIFF_PAIRS[0]).b);
    const basket = d.features.changed.find((f) => f.name === "avg_basket");
    expect(toJsonText(basket?.before.value)).toBe("12.0");
    expect(d.features.changed.find((f) => f.name === "purchase_count")?.value_changed).toBe(false);
    expect(toJsonText(d.inputs.removed)).toBe('[{"name":"none","value":null}]');
  });
});

describe("record diff determinism", () => {
  it("is the same whatever order a record lists its features, chunks and drops in", () => {
    const { a, b } = pair(DIFF_PAIRS[1]);
    const f = pair(DIFF_PAIRS[0]);
    const reversed = (r: ContextRecord): ContextRecord => ({
      ...r,
      features: [...r.features].reverse(),
      retrieved_items: [...r.retrieved_items].reverse(),
      assembly: { ...r.assembly, dropped_items: [...r.assembly.dropped_items].reverse() },
    });
    expect(toJsonText(diffRecords(reversed(a), reversed(b)))).toBe(toJsonText(diffRecords(a, b)));
    expect(toJsonText(diffRecords(reversed(f.a), reversed(f.b)))).toBe(toJsonText(diffRecords(f.a, f.b)));
  });

  it("says when a record fails verification, and escapes control characters in content", () => {
    chalk.level = 0;
    const { a, b } = pair(DIFF_PAIRS[2]);
    const tampered = { ...b, content: "You are helpful.\nUser tier: \u001b[2Jpremium" };
    const comparison = compareRecords(
      { record: a, verification: verifyRecord(a) },
      { record: tampered, verification: verifyRecord(tampered) },
    );
    expect(comparison.verified).toBe(false);
    const text = renderDiff(comparison.diff, comparison.verification);
    expect(text).toMatch(/^B .*✗ content_hash mismatch: NOT verified$/m);
    expect(text).toContain("this diff is not evidence");
    expect(text).toContain("+User tier: \\x1b[2Jpremium");
    expect(text).not.toContain("\u001b");
  });
});
