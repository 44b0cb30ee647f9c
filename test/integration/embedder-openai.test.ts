// The OpenAI-compatible HTTP embedder against a real local HTTP server speaking the embeddings API: what it sends,
// how it batches and orders, and its errors for a missing or refused key and a wrong vector size.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/engine/retrieval/embedder.js";
import { type EmbeddingsServer, startEmbeddingsServer } from "../helpers/embeddings-server.js";

describe("openai-compatible embedder", () => {
  let server: EmbeddingsServer;
  // Vector d of a text is (length + d) / 10, answered out of index order (the client must sort by index).
  beforeAll(async () => {
    server = await startEmbeddingsServer((s, dims) => Array.from({ length: dims }, (_, d) => (s.length + d) / 10));
  });
  afterAll(() => server.close());

  const make = (env: NodeJS.ProcessEnv = { TEST_KEY: "sk-test" }) =>
    createEmbedder({
      type: "openai",
      model: "text-embedding-3-small",
      dimensions: 8,
      baseUrl: server.baseUrl,
      apiKeyEnv: "TEST_KEY",
      batchSize: 2,
      apiKey: env.TEST_KEY,
    });

  it("sends the model, dimensions and key, batches, and keeps input order", async () => {
    const requests = server.requests;
    requests.length = 0;
    const vectors = await make().embed(["a", "bb", "ccc"]);
    expect(requests.map((r) => r.body.input)).toEqual([["a", "bb"], ["ccc"]]);
    expect(requests[0]).toMatchObject({
      auth: "Bearer sk-test",
      body: { model: "text-embedding-3-small", dimensions: 8 },
    });
    expect(vectors.map((v) => v[0])).toEqual([0.1, 0.2, 0.3].map(Math.fround));
  });

  it("needs its key from the environment, and says which variable", () => {
    expect(() => make({})).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG", message: expect.stringContaining("TEST_KEY") }),
    );
  });

  it("maps a refused key and a wrong dimension to clear errors", async () => {
    server.status = 401;
    await expect(make().embed(["x"])).rejects.toMatchObject({
      code: "EMBEDDER_FAILED",
      message: expect.stringContaining("401"),
    });
    server.status = 200;
    server.dimensionsOverride = 4;
    await expect(make().embed(["x"])).rejects.toMatchObject({ code: "DIMENSION_MISMATCH" });
    server.dimensionsOverride = null;
  });
});
