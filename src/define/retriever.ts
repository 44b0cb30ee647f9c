// retriever(): vector search over a named index, or a custom body; every result is tracked into the record.
import { nameOf, runtimeOf } from "./registry.js";
import type { RetrievedChunk } from "./types.js";

export interface RetrieverOptions {
  /** Defaults to the export name. */
  name?: string;
  /** The vector index searched when there is no body (and offered to the body as `search`). */
  index: string;
  /** Default 5. */
  topK?: number;
  /** Hits below this cosine similarity are left out. */
  minSimilarity?: number;
}

/** A custom retriever body: may post-process fabra's search or fetch chunks elsewhere. */
export type RetrieverBody = (
  query: string,
  helpers: {
    search: (query: string, options?: { topK?: number; minSimilarity?: number }) => Promise<RetrievedChunk[]>;
  },
) => Promise<RetrievedChunk[]> | RetrievedChunk[];

export interface RetrieverDef {
  readonly kind: "retriever";
  name: string | undefined;
  readonly options: RetrieverOptions;
  readonly body: RetrieverBody | undefined;
  (query: string): Promise<RetrievedChunk[]>;
}

export function retriever(options: RetrieverOptions, body?: RetrieverBody): RetrieverDef {
  const call = (query: string) => runtimeOf(def).runRetriever(nameOf(def), query);
  const def = Object.assign(call, { kind: "retriever" as const, options, body }) as unknown as RetrieverDef;
  // A function's own `name` is read-only; redefine it so registration can name the retriever.
  Object.defineProperty(def, "name", { value: options.name, writable: true, configurable: true });
  return def;
}
