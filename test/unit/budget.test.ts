// Token budget: table-driven cases on applyBudget, and token counts matching tiktoken directly.
import { get_encoding } from "tiktoken";
import { describe, expect, it } from "vitest";
import { applyBudget, type BudgetItem } from "../../src/engine/context/budget.js";
import { countTokens, encodingFor } from "../../src/engine/context/tokens.js";

// A transparent tokenizer for the table: one token per word, so the cases read as arithmetic.
const words = (text: string) => (text.match(/\S+/g) ?? []).length;
const item = (key: string, nWords: number, priority: number, required = false, index = 0): BudgetItem => ({
  key,
  content: Array.from({ length: nWords }, (_, i) => `${key}${i}`).join(" "),
  priority,
  required,
  tokens: nWords,
  index,
});
const list = (...items: BudgetItem[]) => items.map((it, index) => ({ ...it, index }));

interface Case {
  name: string;
  items: BudgetItem[];
  max: number | null;
  kept: string[];
  dropped: string[];
  exceeded: boolean;
}

const cases: Case[] = [
  {
    name: "no budget keeps everything, in priority order",
    items: list(item("c", 3, 2), item("a", 2, 0), item("b", 1, 1)),
    max: null,
    kept: ["a", "b", "c"],
    dropped: [],
    exceeded: false,
  },
  {
    name: "exact fit drops nothing",
    items: list(item("a", 2, 0, true), item("b", 3, 1)),
    max: 5,
    kept: ["a", "b"],
    dropped: [],
    exceeded: false,
  },
  {
    name: "one token over drops the least important",
    items: list(item("a", 2, 0, true), item("b", 3, 1), item("c", 1, 2)),
    max: 5,
    kept: ["a", "b"],
    dropped: ["c"],
    exceeded: false,
  },
  {
    name: "drops highest priority value first, several if needed",
    items: list(item("a", 2, 0, true), item("b", 3, 3), item("c", 3, 2), item("d", 3, 1)),
    max: 6,
    kept: ["a", "d"],
    dropped: ["b", "c"],
    exceeded: false,
  },
  {
    name: "ties: the later item goes first",
    items: list(item("a", 1, 0, true), item("x", 2, 5), item("y", 2, 5)),
    max: 3,
    kept: ["a", "x"],
    dropped: ["y"],
    exceeded: false,
  },
  {
    name: "required items are never dropped, even with a high priority value",
    items: list(item("r", 2, 9, true), item("o", 2, 1)),
    max: 2,
    kept: ["r"],
    dropped: ["o"],
    exceeded: false,
  },
  {
    name: "all required over budget: returned and flagged, optional all dropped",
    items: list(item("a", 4, 0, true), item("b", 4, 1, true), item("c", 1, 2)),
    max: 5,
    kept: ["a", "b"],
    dropped: ["c"],
    exceeded: true,
  },
  { name: "empty list", items: [], max: 10, kept: [], dropped: [], exceeded: false },
  {
    name: "zero budget with only optional items drops them all",
    items: list(item("a", 1, 0), item("b", 1, 1)),
    max: 0,
    kept: [],
    dropped: ["b", "a"],
    exceeded: false,
  },
  {
    name: "drops only as many as needed (a big low-priority item frees enough)",
    items: list(item("a", 1, 0), item("b", 1, 1), item("big", 10, 2)),
    max: 3,
    kept: ["a", "b"],
    dropped: ["big"],
    exceeded: false,
  },
];

describe("applyBudget", () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = applyBudget(c.items, c.max, words, " ");
      expect(result.included.map((i) => i.key)).toEqual(c.kept);
      expect(result.dropped.map((d) => d.item.key)).toEqual(c.dropped);
      expect(result.dropped.every((d) => d.reason === "budget_exceeded")).toBe(true);
      expect(result.budgetExceeded).toBe(c.exceeded);
      expect(result.content).toBe(result.included.map((i) => i.content).join(" "));
      expect(result.tokensUsed).toBe(words(result.content));
      if (c.max !== null && !c.exceeded) expect(result.tokensUsed).toBeLessThanOrEqual(c.max);
    });
  }

  it("checks the joined text with the real tokenizer (the separator counts)", () => {
    const count = (t: string) => countTokens(t, "gpt-4o");
    const items = list(
      { key: "sys", content: "You are helpful.", priority: 0, required: true, tokens: 0, index: 0 },
      { key: "a", content: "alpha beta gamma", priority: 1, required: false, tokens: 0, index: 0 },
      { key: "b", content: "delta epsilon", priority: 2, required: false, tokens: 0, index: 0 },
    ).map((i) => ({ ...i, tokens: count(i.content) }));
    const full = count(items.map((i) => i.content).join("\n\n"));
    const fits = applyBudget(items, full, count, "\n\n");
    expect(fits.dropped).toEqual([]);
    const over = applyBudget(items, full - 1, count, "\n\n");
    expect(over.dropped.map((d) => d.item.key)).toEqual(["b"]);
    expect(over.tokensUsed).toBe(count("You are helpful.\n\nalpha beta gamma"));
  });
});

describe("token counts", () => {
  const samples = [
    "",
    "hello world",
    "héllo wörld — ünïcödé",
    "emoji 😀👩‍👩‍👧‍👦🇩🇪 mixed",
    "中文字符和日本語のテキスト",
    "<|endoftext|> is plain text here",
    "a".repeat(1000),
  ];

  it("match tiktoken called directly, for the encoding each model uses", () => {
    for (const [model, encoding] of [
      [undefined, "cl100k_base"],
      ["gpt-4", "cl100k_base"],
      ["gpt-3.5-turbo", "cl100k_base"],
      ["claude-sonnet-4", "cl100k_base"],
      ["gpt-4o", "o200k_base"],
      ["gpt-4o-mini", "o200k_base"],
      ["gpt-4.1-nano", "o200k_base"],
      ["gpt-5", "o200k_base"],
      ["o3-mini", "o200k_base"],
    ] as const) {
      expect(encodingFor(model)).toBe(encoding);
      const direct = get_encoding(encoding);
      for (const s of samples) expect(countTokens(s, model), `${model} ${s}`).toBe(direct.encode_ordinary(s).length);
      direct.free();
    }
  });

  it("count emoji and CJK as more than one token where tiktoken does", () => {
    expect(countTokens("👩‍👩‍👧‍👦")).toBeGreaterThan(1);
    expect(countTokens("😀", "gpt-4o")).toBeGreaterThanOrEqual(1);
  });
});

describe("cached token counts", () => {
  it("give exactly tiktoken's count, on first sight and when remembered, per encoding", async () => {
    const { countTokensCached } = await import("../../src/engine/context/tokens.js");
    const long = "The quick brown fox — jumps over 13 lazy dogs 😀. ".repeat(20);
    for (const model of [undefined, "gpt-4o"]) {
      const exact = countTokens(long, model);
      expect(countTokensCached(long, model)).toBe(exact);
      expect(countTokensCached(long, model)).toBe(exact);
    }
    const cjk = "東京でのサポートをご利用いただきありがとうございます。".repeat(10);
    expect(countTokens(cjk, "gpt-4o")).not.toBe(countTokens(cjk)); // the encodings differ on this text...
    expect(countTokensCached(cjk)).toBe(countTokens(cjk)); // ...and the cache keeps them apart
    expect(countTokensCached(cjk, "gpt-4o")).toBe(countTokens(cjk, "gpt-4o"));
    expect(countTokensCached(long + "!")).toBe(countTokens(long + "!"));
  });
});
