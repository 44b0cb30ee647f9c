// The offline lexical embedder, the default: deterministic, unit length, shared words score higher. (The
// OpenAI-compatible one talks HTTP: test/integration/embedder-openai.test.ts.)
import { describe, expect, it } from "vitest";
import { LexicalEmbedder } from "../../src/engine/retrieval/embedder.js";

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);

describe("lexical embedder", () => {
  const embedder = new LexicalEmbedder(384);

  it("is deterministic and unit length", async () => {
    const [a, b] = await embedder.embed(["How do I reset my password?", "How do I reset my password?"]);
    expect(a).toEqual(b);
    expect(a?.length).toBe(384);
    expect(cosine(a as Float32Array, a as Float32Array)).toBeCloseTo(1, 5);
    const [empty] = await embedder.embed([""]);
    expect(Array.from(empty as Float32Array).every((x) => x === 0)).toBe(true);
  });

  it("scores texts that share words (after light stemming) above unrelated ones", async () => {
    const [query, related, unrelated] = await embedder.embed([
      "resetting passwords",
      "To reset your password, open the sign-in page.",
      "Invoices are sent monthly to the billing contact.",
    ]);
    expect(cosine(query as Float32Array, related as Float32Array)).toBeGreaterThan(0.3);
    expect(cosine(query as Float32Array, related as Float32Array)).toBeGreaterThan(
      cosine(query as Float32Array, unrelated as Float32Array) + 0.2,
    );
  });
});
