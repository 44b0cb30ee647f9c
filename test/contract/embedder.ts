// The Embedder contract: every embedder (the offline lexical one, the OpenAI-compatible one against a server) gives
// one finite vector of `dimensions` numbers per text, in input order, the same for the same text whatever batch it
// is in, and a stable id naming model and size; texts that share words score above unrelated ones.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Embedder } from "../../src/engine/retrieval/embedder.js";

export interface EmbedderHarness {
  /** An embedder to test (called more than once: two calls with the same settings must agree). */
  make(): Embedder | Promise<Embedder>;
  /** The same embedder with another output size (its id must differ). */
  makeWithDimensions(dimensions: number): Embedder | Promise<Embedder>;
  setup?(): Promise<void>;
  cleanup?(): Promise<void>;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
const cosine = (a: Float32Array, b: Float32Array) => dot(a, b) / (Math.sqrt(dot(a, a) * dot(b, b)) || 1);

const TEXTS = [
  "How do I reset my password?",
  "To reset your password, open the sign-in page and choose Forgot password.",
  "Invoices are sent monthly to the billing contact.",
  "café ☕ — naïve façade, 東京 and emoji 😀",
  "",
];

export function embedderContract(name: string, harness: EmbedderHarness): void {
  describe(`Embedder contract: ${name}`, () => {
    let embedder: Embedder;
    beforeAll(async () => {
      await harness.setup?.();
      embedder = await harness.make();
    });
    afterAll(async () => {
      await harness.cleanup?.();
    });

    it("gives one finite vector of `dimensions` numbers per text, in input order", async () => {
      const vectors = await embedder.embed(TEXTS);
      expect(vectors).toHaveLength(TEXTS.length);
      for (const v of vectors) {
        expect(v).toBeInstanceOf(Float32Array);
        expect(v.length).toBe(embedder.dimensions);
        expect(Array.from(v).every(Number.isFinite)).toBe(true);
      }
      // Order: each text's vector is the one it gets alone.
      for (const [i, text] of TEXTS.entries()) expect((await embedder.embed([text]))[0], text).toEqual(vectors[i]);
    });

    it("embeds nothing to nothing, and many texts (more than a batch) all in order", async () => {
      expect(await embedder.embed([])).toEqual([]);
      const many = Array.from({ length: 25 }, (_, i) => `document ${i}: ${"word ".repeat(i)}`);
      const vectors = await embedder.embed(many);
      expect(vectors).toHaveLength(many.length);
      const alone = await Promise.all(many.map(async (t) => (await embedder.embed([t]))[0]));
      expect(vectors).toEqual(alone);
    });

    it("is deterministic: the same text gives the same vector from a second embedder with the same settings", async () => {
      const again = await harness.make();
      expect(again.id).toBe(embedder.id);
      expect(again.dimensions).toBe(embedder.dimensions);
      expect(await again.embed(TEXTS)).toEqual(await embedder.embed(TEXTS));
    });

    it("names model and size in its id, so an index built with another size is never searched with it", async () => {
      expect(embedder.id).toMatch(/\S/);
      const other = await harness.makeWithDimensions(embedder.dimensions * 2);
      expect(other.dimensions).toBe(embedder.dimensions * 2);
      expect(other.id).not.toBe(embedder.id);
      expect((await other.embed(["x"]))[0]?.length).toBe(embedder.dimensions * 2);
    });

    it("scores a text that shares words with the query above an unrelated one", async () => {
      const [query, related, unrelated] = await embedder.embed([
        TEXTS[0] as string,
        TEXTS[1] as string,
        TEXTS[2] as string,
      ]);
      const q = query as Float32Array;
      expect(cosine(q, related as Float32Array)).toBeGreaterThan(cosine(q, unrelated as Float32Array));
    });
  });
}
