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

const O200K_MODELS = /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4)(\b|-|$)/i;
const encoders = new Map<TiktokenEncoding, Tiktoken>();

export function encodingFor(model: string | undefined): TiktokenEncoding {
  return model !== undefined && O200K_MODELS.test(model) ? "o200k_base" : "cl100k_base";
}

export function encoderFor(model: string | undefined): Tiktoken {
  const name = encodingFor(model);
  let encoder = encoders.get(name);
  if (!encoder) {
    encoder = loadTiktoken().get_encoding(name);
    encoders.set(name, encoder);
  }
  return encoder;
}

/** Tokens in `text` for `model`. Special-token text such as `<|endoftext|>` is counted as ordinary text. */
export function countTokens(text: string, model?: string): number {
  if (text === "") return 0;
  return encoderFor(model).encode_ordinary(text).length;
}

// Counts of longer texts, remembered by the sha256 of the text (never the text itself, so content kept out of
// records stays out of memory too): system prompts, chunks and conversation turns recur across assemblies, and
// hashing is ~300x cheaper than tokenizing. Exact: a hit returns what tiktoken returned for the same bytes.
const CACHE_MIN_LENGTH = 200;
const CACHE_MAX_ENTRIES = 20_000;
const countCache = new Map<string, number>();

/** countTokens, remembering the counts of long texts (see above). */
export function countTokensCached(text: string, model?: string): number {
  if (text.length < CACHE_MIN_LENGTH) return countTokens(text, model);
  const key = encodingFor(model) + sha256Hex(text);
  const hit = countCache.get(key);
  if (hit !== undefined) {
    countCache.delete(key); // refresh its place: the map's order is least- to most-recently used
    countCache.set(key, hit);
    return hit;
  }
  const count = countTokens(text, model);
  countCache.set(key, count);
  if (countCache.size > CACHE_MAX_ENTRIES) countCache.delete(countCache.keys().next().value as string);
  return count;
}
