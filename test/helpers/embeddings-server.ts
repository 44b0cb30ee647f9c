// A local HTTP server speaking the OpenAI embeddings API (POST <base>/embeddings) for the OpenAI-compatible
// embedder's tests: it records each request, answers out of index order (clients must sort by index), and can be
// told to refuse the key or to return vectors of another size.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface EmbeddingsRequest {
  auth: string | undefined;
  body: { model: string; input: string[]; dimensions: number };
}

export interface EmbeddingsServer {
  /** The API base, e.g. http://127.0.0.1:PORT/v1 (the embedder appends /embeddings). */
  baseUrl: string;
  requests: EmbeddingsRequest[];
  /** Answer every request with this HTTP status and an OpenAI-style error body (200: embeddings). */
  status: number;
  /** Return vectors of this size instead of the requested `dimensions` (null: as requested). */
  dimensionsOverride: number | null;
  close(): Promise<void>;
}

/** Starts the server; `vectorOf(text, dimensions)` computes each embedding. */
export async function startEmbeddingsServer(
  vectorOf: (text: string, dimensions: number) => number[],
): Promise<EmbeddingsServer> {
  const state: EmbeddingsServer = {
    baseUrl: "",
    requests: [],
    status: 200,
    dimensionsOverride: null,
    close: async () => {},
  };
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text) as EmbeddingsRequest["body"];
    state.requests.push({ auth: req.headers.authorization, body });
    if (req.method !== "POST" || !req.url?.endsWith("/embeddings")) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    if (state.status !== 200) {
      res
        .writeHead(state.status, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: "Incorrect API key provided" } }));
      return;
    }
    const size = state.dimensionsOverride ?? body.dimensions;
    const data = body.input.map((s, index) => ({ object: "embedding", index, embedding: vectorOf(s, size) })).reverse();
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ object: "list", data, model: body.model }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
