// The Embedder contract on the lexical embedder and on the OpenAI-compatible one against a local embeddings server
// (which computes its vectors with the lexical embedder, so both must agree on what is similar).
import { createEmbedder, LexicalEmbedder } from "../../src/engine/retrieval/embedder.js";
import { embedderContract } from "../contract/embedder.js";
import { type EmbeddingsServer, startEmbeddingsServer } from "../helpers/embeddings-server.js";

embedderContract("lexical", {
  make: () => createEmbedder({ type: "lexical" }),
  makeWithDimensions: (dimensions) => createEmbedder({ type: "lexical", dimensions }),
});

let server: EmbeddingsServer | undefined;
const openai = (dimensions: number) => {
  if (!server) throw new Error("the embeddings server did not start");
  const config = {
    type: "openai" as const,
    model: "text-embedding-3-small",
    dimensions,
    baseUrl: server.baseUrl,
    apiKeyEnv: "TEST_KEY",
    batchSize: 4,
    apiKey: "sk-test",
  };
  return createEmbedder(config);
};
embedderContract("openai-compatible (local embeddings server)", {
  setup: async () => {
    server = await startEmbeddingsServer((text, dimensions) =>
      Array.from(new LexicalEmbedder(dimensions).embedOne(text)),
    );
  },
  cleanup: async () => {
    await server?.close();
  },
  make: () => openai(64),
  makeWithDimensions: openai,
});
