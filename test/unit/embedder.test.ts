// Embedders: the offline lexical default (deterministic, unit length, shared words score higher) and the
// OpenAI-compatible HTTP embedder against a real local HTTP server speaking the embeddings API.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder, LexicalEmbedder } from "../../src/engine/retrieval/embedder.js";

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
    expect(cosine(query as Float32Array, related as Float32Array)).toBeGreaterThan(cosine(query as Float32Array, unrelated as Float32Array) + 0.2);
  });
});

describe("openai-compatible embedder", () => {
  const requests: { auth: string | undefined; body: { model: string; input: string[]; dimensions: number } }[] = [];
  let status = 200;
  let dims = 8;
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text) as { model: string; input: string[]; dimensions: number };
    requests.push({ auth: req.headers.authorization, body });
    if (status !== 200) {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "Incorrect API key provided" } }));
      return;
    }
    // Out of order on purpose: the client must sort by index.
    const data = body.input.map((s, index) => ({ index, embedding: Array.from({ length: dims }, (_, d) => (s.length + d) / 10) })).reverse();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data }));
  });
  let baseUrl = "";

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const make = (env: NodeJS.ProcessEnv = { TEST_KEY: "sk-test" }) =>
    // The key as config resolves it: from the variable apiKeyEnv names.
    createEmbedder({ type: "openai", model: "text-embedding-3-small", dimensions: 8, baseUrl, apiKeyEnv: "TEST_KEY", batchSize: 2, apiKey: env.TEST_KEY });

  it("sends the model, dimensions and key, batches, and keeps input order", async () => {
    requests.length = 0;
    const vectors = await make().embed(["a", "bb", "ccc"]);
    expect(requests.map((r) => r.body.input)).toEqual([["a", "bb"], ["ccc"]]);
    expect(requests[0]).toMatchObject({ auth: "Bearer sk-test", body: { model: "text-embedding-3-small", dimensions: 8 } });
    expect(vectors.map((v) => v[0])).toEqual([0.1, 0.2, 0.3].map(Math.fround));
  });

  it("needs its key from the environment, and says which variable", () => {
    expect(() => make({})).toThrow(expect.objectContaining({ code: "INVALID_CONFIG", message: expect.stringContaining("TEST_KEY") }));
  });

  it("maps a refused key and a wrong dimension to clear errors", async () => {
    status = 401;
    await expect(make().embed(["x"])).rejects.toMatchObject({ code: "EMBEDDER_FAILED", message: expect.stringContaining("401") });
    status = 200;
    dims = 4;
    await expect(make().embed(["x"])).rejects.toMatchObject({ code: "DIMENSION_MISMATCH" });
    dims = 8;
  });
});
