// Token counting with tiktoken. The encoding follows the model (o200k_base for the gpt-4o / gpt-4.1 / gpt-5 /
// o-series families, cl100k_base otherwise, which also approximates non-OpenAI models). Each encoder is loaded
// once per process and kept.
import { get_encoding, type Tiktoken, type TiktokenEncoding } from "tiktoken";

const O200K_MODELS = /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4)(\b|-|$)/i;
const encoders = new Map<TiktokenEncoding, Tiktoken>();

export function encodingFor(model: string | undefined): TiktokenEncoding {
  return model !== undefined && O200K_MODELS.test(model) ? "o200k_base" : "cl100k_base";
}

export function encoderFor(model: string | undefined): Tiktoken {
  const name = encodingFor(model);
  let encoder = encoders.get(name);
  if (!encoder) {
    encoder = get_encoding(name);
    encoders.set(name, encoder);
  }
  return encoder;
}

/** Tokens in `text` for `model`. Special-token text such as `<|endoftext|>` is counted as ordinary text. */
export function countTokens(text: string, model?: string): number {
  if (text === "") return 0;
  return encoderFor(model).encode_ordinary(text).length;
}
