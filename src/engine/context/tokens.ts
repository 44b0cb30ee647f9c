// Token counting with tiktoken. The encoding follows the model (o200k_base for the gpt-4o / gpt-4.1 / gpt-5 /
// o-series families, cl100k_base otherwise, which also approximates non-OpenAI models). Each encoder is loaded
// once per process and kept; tiktoken itself (a 5.6 MB WebAssembly module) loads on the first count, so commands
// that count nothing (verify, show, list...) never pay for it.
import { createRequire } from "node:module";
import type { Tiktoken, TiktokenEncoding } from "tiktoken";
import { sha256Hex } from "../../record/hash.js";

type TiktokenModule = typeof import("tiktoken");
let tiktoken: TiktokenModule | null = null;

/** tiktoken, loaded on first use: synchronously (counting is synchronous), as the CommonJS build node picks anyway. */
function loadTiktoken(): TiktokenModule {
  tiktoken ??= createRequire(import.meta.url)("tiktoken") as TiktokenModule;
  return tiktoken;
}

/** The encodings fabra counts in (what `encodingFor` can answer). */
export type Encoding = Extract<TiktokenEncoding, "cl100k_base" | "o200k_base">;
export const ENCODINGS: readonly Encoding[] = ["cl100k_base", "o200k_base"];
/** Token counts of one text, per encoding (a chunk carries those its project's contexts count in). */
export type { TokenCounts } from "../../define/types.js";

const O200K_MODELS = /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4)(\b|-|$)/i;
const encoders = new Map<Encoding, Tiktoken>();

export function encodingFor(model: string | undefined): Encoding {
  return model !== undefined && O200K_MODELS.test(model) ? "o200k_base" : "cl100k_base";
}

export function encoderFor(model: string | undefined): Tiktoken {
  return encoderOf(encodingFor(model));
}

export function encoderOf(encoding: Encoding): Tiktoken {
  let encoder = encoders.get(encoding);
  if (!encoder) {
    encoder = loadTiktoken().get_encoding(encoding);
    encoders.set(encoding, encoder);
  }
  return encoder;
}

/** Tokens in `text` for `model`. Special-token text such as `<|endoftext|>` is counted as ordinary text. */
export function countTokens(text: string, model?: string): number {
  return countIn(text, encodingFor(model));
}

/** Tokens in `text` in `encoding`: one pass through tiktoken, nothing remembered. */
export function countIn(text: string, encoding: Encoding): number {
  if (text === "") return 0;
  return encoderOf(encoding).encode_ordinary(text).length;
}

// Counts of texts, remembered by the sha256 of the text (never the text itself, so content kept out of records stays
// out of memory too): system prompts, chunks and conversation turns recur across assemblies, and hashing is 5-100x
// cheaper than tokenizing (the short end: a call into tiktoken's WebAssembly costs more than hashing 30 bytes).
// Exact: a hit returns what tiktoken returned for the same bytes. So each distinct text goes through tiktoken once
// per encoding while it stays among the CACHE_MAX_ENTRIES most recently used.
const CACHE_MAX_ENTRIES = 20_000;
const countCache = new Map<string, number>();
let tokenized = 0;

/** How many characters went through tiktoken in this process (the `assemble` bench and tests read it). */
export function charactersTokenized(): number {
  return tokenized;
}

/** countTokens, remembering the counts (see above). */
export function countTokensCached(text: string, model?: string): number {
  return countCachedIn(text, encodingFor(model));
}

/** countIn, remembering the counts (see above). */
export function countCachedIn(text: string, encoding: Encoding): number {
  if (text === "") return 0;
  const key = encoding + sha256Hex(text);
  const hit = countCache.get(key);
  if (hit !== undefined) {
    countCache.delete(key); // refresh its place: the map's order is least- to most-recently used
    countCache.set(key, hit);
    return hit;
  }
  tokenized += text.length;
  const count = countIn(text, encoding);
  countCache.set(key, count);
  if (countCache.size > CACHE_MAX_ENTRIES) countCache.delete(countCache.keys().next().value as string);
  return count;
}
