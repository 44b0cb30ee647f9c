// The embedding worker (embed-thread.ts starts it): makes the embedder its settings describe and answers each batch
// it claims with the vectors end to end in one transferred Float32Array (a batch the main thread took is skipped).
import { parentPort, workerData } from "node:worker_threads";
import { claim, type EmbedAnswer, type EmbedRequest, type EmbedThreadData, TAKEN } from "./embed-thread.js";
import { embedderFrom } from "./embedder.js";

const port = parentPort;
if (port) {
  const { spec, claims } = workerData as EmbedThreadData;
  const embedder = embedderFrom(spec);
  const d = embedder.dimensions;
  port.postMessage({ ready: true } satisfies EmbedAnswer);
  port.on("message", async ({ id, texts }: EmbedRequest) => {
    if (!claim(claims, id, TAKEN)) return;
    try {
      const vectors = await embedder.embed(texts);
      if (vectors.length !== texts.length || vectors.some((v) => v.length !== d))
        throw new Error("the embedder's vectors do not match its texts and dimensions");
      const out = new Float32Array(texts.length * d);
      for (const [i, v] of vectors.entries()) out.set(v, i * d);
      port.postMessage({ id, vectors: out } satisfies EmbedAnswer, [out.buffer]);
    } catch (err) {
      port.postMessage({ id, error: String((err as Error)?.stack ?? err) } satisfies EmbedAnswer);
    }
  });
}
