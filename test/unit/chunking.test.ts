// Token-window chunking: sizes, overlap, whole characters and words, nothing lost.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkText } from "../../src/engine/retrieval/chunking.js";
import { countTokens } from "../../src/engine/context/tokens.js";

const prose = Array.from(
  { length: 300 },
  (_, i) => `Sentence ${i} says the café at naïve élan serves ${i % 7} 😀 coffees.`,
).join(" ");

describe("chunkText", () => {
  it("keeps a short text whole", () => {
    expect(chunkText("  a short text  ", { chunkTokens: 64, overlapTokens: 8 })).toEqual([
      { index: 0, content: "a short text", tokenCount: countTokens("a short text") },
    ]);
    expect(chunkText(" \n ", { chunkTokens: 64, overlapTokens: 8 })).toEqual([]);
  });

  it("cuts windows of at most chunkTokens that overlap, at word boundaries, losing no word", () => {
    const chunks = chunkText(prose, { chunkTokens: 64, overlapTokens: 16 });
    expect(chunks.length).toBeGreaterThan(10);
    chunks.forEach((c, i) => {
      expect(c.index).toBe(i);
      expect(c.tokenCount).toBe(countTokens(c.content));
      expect(c.tokenCount).toBeLessThanOrEqual(64 + 2); // re-tokenizing a cut text may differ by a token at the seams
      expect(c.content).not.toContain("\uFFFD");
    });
    const words = new Set(prose.split(/\s+/));
    for (const c of chunks)
      for (const w of c.content.split(/\s+/)) expect(words.has(w), `"${w}" is a cut word`).toBe(true);
    const seen = new Set(chunks.flatMap((c) => c.content.split(/\s+/)));
    for (const w of words) expect(seen.has(w), `"${w}" was lost`).toBe(true);
    // Consecutive chunks share text (the overlap).
    for (let i = 1; i < chunks.length; i++) {
      const tail = (chunks[i - 1] as { content: string }).content.split(/\s+/).slice(-2).join(" ");
      expect((chunks[i] as { content: string }).content).toContain(tail);
    }
  });

  it("never splits a character, for any text", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 200, maxLength: 2000 }).filter((t) => !t.includes("\uFFFD")),
        (text) => {
          for (const c of chunkText(text, { chunkTokens: 16, overlapTokens: 4 }))
            expect(c.content).not.toContain("\uFFFD");
        },
      ),
      { numRuns: 50 },
    );
  });

  it("counts each chunk's tokens exactly (counted at its seams, the middle from the document's tokens)", () => {
    const piece = fc.oneof(
      fc.constantFrom(
        "the",
        "café",
        "naïve",
        "x",
        "A",
        "I'm",
        "it's",
        "don't",
        "2024",
        "1234567",
        "😀",
        "日本語",
        "API",
        "gpt-4o",
      ),
      fc.constantFrom(" ", "  ", "\n", "\n\n", " \n ", ".", ", ", "!\n", "\t", "'s", "...", "--", "/", "\u00a0"),
      fc.string({ minLength: 1, maxLength: 6 }),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 40, maxLength: 400 }),
        fc.constantFrom(undefined, "gpt-4o"),
        (parts, model) => {
          for (const c of chunkText(parts.join(""), { chunkTokens: 24, overlapTokens: 4, model }))
            expect(c.tokenCount).toBe(countTokens(c.content, model));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("rejects impossible settings with the key named", () => {
    expect(() => chunkText(prose, { chunkTokens: 64, overlapTokens: 64 })).toThrow(/chunking\.overlapTokens/);
    expect(() => chunkText(prose, { chunkTokens: 2, overlapTokens: 0 })).toThrow(/chunking\.chunkTokens/);
  });
});
