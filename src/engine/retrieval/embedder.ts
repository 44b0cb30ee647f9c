// Embeddings behind one small interface. The default is offline and deterministic: a lexical embedding
// (hashed word and word-pair counts, L2-normalized), so cosine similarity measures shared words, not meaning.
// No network, no model download: good for the demo, tests and keyword-heavy docs. For semantic search use an
// OpenAI-compatible endpoint (`embedder: { type: "openai", ... }`, key from the environment).
import type { ResolvedEmbedderConfig } from "../../config/schema.js";
import { FabraError } from "../../errors.js";
import { maskUrl } from "../../util/mask-url.js";

export interface Embedder {
  /** Names the model in the vector store, so an index built with one embedder is not searched with another. */
  readonly id: string;
  readonly dimensions: number;
  embed(texts: string[]): Promise<Float32Array[]>;
  /**
   * Set by an embedder a worker thread can make again from these settings alone (pure and CPU-bound: the lexical
   * one), so bulk indexing can embed on another core beside chunking (embed-thread.ts).
   */
  readonly threadable?: ThreadableEmbedder;
}

/** What a worker thread makes the same embedder from. */
export interface ThreadableEmbedder {
  type: "lexical";
  dimensions: number;
}

/** The embedder `spec` describes (in a worker thread: the same one as the main thread's). */
export function embedderFrom(spec: ThreadableEmbedder): Embedder {
  return new LexicalEmbedder(spec.dimensions);
}

export function createEmbedder(config: ResolvedEmbedderConfig): Embedder {
  return config.type === "openai" ? new OpenAIEmbedder(config) : new LexicalEmbedder(config.dimensions ?? 384);
}

// ------------------------------------------------------------------------------------------ lexical

const STOPWORDS = new Set(
  (
    "a an and are as at be but by can do does for from has have how i if in into is it its me my no not of on or our so " +
    "that the their then there these this to was we were what when where which who why will with you your"
  ).split(" "),
);

export class LexicalEmbedder implements Embedder {
  readonly id: string;
  readonly threadable: ThreadableEmbedder;
  constructor(readonly dimensions: number) {
    if (!Number.isInteger(dimensions) || dimensions < 16) {
      throw new FabraError("INVALID_CONFIG", `embedder.dimensions is ${dimensions}`, {
        hint: "Use a whole number of at least 16 (default 384).",
      });
    }
    this.id = `lexical-v1-${dimensions}`;
    this.threadable = { type: "lexical", dimensions };
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }

  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    const words = (
      text
        .toLowerCase()
        .normalize("NFKC")
        .match(/[\p{L}\p{N}]+/gu) ?? []
    )
      .map(stem)
      .filter((w) => !STOPWORDS.has(w));
    for (let i = 0; i < words.length; i++) {
      this.add(vector, words[i] as string, 1);
      if (i + 1 < words.length) this.add(vector, `${words[i]} ${words[i + 1]}`, 0.5);
    }
    let norm = 0;
    for (let i = 0; i < vector.length; i++) {
      // Dampen repeated words: log(1 + count), keeping the sign the hash gave.
      const v = vector[i] as number;
      vector[i] = Math.sign(v) * Math.log1p(Math.abs(v));
      norm += (vector[i] as number) ** 2;
    }
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) * scale;
    }
    return vector;
  }

  private add(vector: Float32Array, term: string, weight: number): void {
    const h = fnv1a(term);
    const slot = h % this.dimensions;
    vector[slot] = (vector[slot] as number) + (h >>> 31 === 1 ? -weight : weight);
  }
}

/** A light English stemmer: enough that "passwords" meets "password" and "resetting" meets "reset". */
function stem(word: string): string {
  if (word.length <= 3) return word;
  for (const suffix of ["ing", "ed", "s"]) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      const base = word.slice(0, -suffix.length);
      // "resetting" → "resett" → "reset"
      return base.length > 3 && base[base.length - 1] === base[base.length - 2] ? base.slice(0, -1) : base;
    }
  }
  return word;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// ------------------------------------------------------------------------------------------ OpenAI-compatible

class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  private readonly url: string;
  private readonly apiKey: string;
  private readonly batchSize: number;

  constructor(private readonly config: Extract<ResolvedEmbedderConfig, { type: "openai" }>) {
    const keyVar = config.apiKeyEnv ?? "OPENAI_API_KEY";
    const key = config.apiKey;
    if (!key) {
      throw new FabraError("INVALID_CONFIG", `The openai embedder needs an API key in ${keyVar}, which is not set`, {
        hint: `export ${keyVar}=sk-...  (or set embedder.apiKeyEnv to the variable that holds it; keys never go in the config file).`,
      });
    }
    this.apiKey = key;
    this.dimensions = config.dimensions;
    this.batchSize = config.batchSize ?? 96;
    this.url = `${(config.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "")}/embeddings`;
    this.id = `openai:${config.model}:${config.dimensions}`;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize)
      out.push(...(await this.embedBatch(texts.slice(i, i + this.batchSize))));
    return out;
  }

  private async embedBatch(input: string[]): Promise<Float32Array[]> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.apiKey}` },
        body: JSON.stringify({ model: this.config.model, input, dimensions: this.config.dimensions }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new FabraError(
        "EMBEDDER_FAILED",
        `Could not reach the embeddings endpoint ${maskUrl(this.url)}: ${(err as Error).message}`,
        {
          hint: "Check embedder.baseUrl and the network; the lexical embedder works offline.",
          cause: err,
        },
      );
    }
    if (!response.ok) {
      const body = (await response.text().catch(() => "")).slice(0, 300);
      throw new FabraError("EMBEDDER_FAILED", `The embeddings endpoint answered ${response.status}: ${body}`, {
        hint:
          response.status === 401
            ? "The API key was refused; check it."
            : "Check embedder.model and embedder.dimensions.",
      });
    }
    const json = (await response.json()) as { data?: { index: number; embedding: number[] }[] };
    const data = [...(json.data ?? [])].sort((a, b) => a.index - b.index);
    if (data.length !== input.length || data.some((d) => d.embedding.length !== this.dimensions)) {
      throw new FabraError(
        "DIMENSION_MISMATCH",
        `The embeddings endpoint returned ${data.length} vectors of ${data[0]?.embedding.length ?? 0} dimensions, expected ${input.length} of ${this.dimensions}`,
        {
          hint: "Set embedder.dimensions to the model's output size.",
        },
      );
    }
    return data.map((d) => Float32Array.from(d.embedding));
  }
}
