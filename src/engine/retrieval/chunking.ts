// Token-based chunking for indexing: windows of `chunkTokens` tokens overlapping by `overlapTokens`, cut on
// character boundaries (a window never splits a UTF-8 sequence) and, where possible, at whitespace.
import { FabraError } from "../../errors.js";
import { countTokens, encoderFor } from "../context/tokens.js";

export interface ChunkingOptions {
  chunkTokens: number;
  overlapTokens: number;
  /** Tokenizer model; cl100k_base by default. */
  model?: string;
}

export interface TextChunk {
  index: number;
  content: string;
  tokenCount: number;
}

export function checkChunking(opts: ChunkingOptions): void {
  if (!Number.isInteger(opts.chunkTokens) || opts.chunkTokens < 8) {
    throw new FabraError("INVALID_CONFIG", `chunking.chunkTokens is ${opts.chunkTokens}`, {
      hint: "Use a whole number of at least 8 (e.g. 256).",
    });
  }
  if (!Number.isInteger(opts.overlapTokens) || opts.overlapTokens < 0 || opts.overlapTokens >= opts.chunkTokens) {
    throw new FabraError("INVALID_CONFIG", `chunking.overlapTokens is ${opts.overlapTokens}`, {
      hint: `Use a whole number from 0 to less than chunkTokens (${opts.chunkTokens}), e.g. ${Math.floor(opts.chunkTokens / 8)}.`,
    });
  }
}

export function chunkText(text: string, opts: ChunkingOptions): TextChunk[] {
  checkChunking(opts);
  const trimmed = text.trim();
  if (trimmed === "") return [];
  const encoder = encoderFor(opts.model);
  const tokens = encoder.encode_ordinary(trimmed);
  if (tokens.length <= opts.chunkTokens) return [{ index: 0, content: trimmed, tokenCount: tokens.length }];

  // Byte offset where each token starts in the UTF-8 text; windows are cut at these offsets.
  const bytes = Buffer.from(trimmed, "utf8");
  const starts = new Array<number>(tokens.length + 1);
  const lengths = tokenLengths(encoder);
  let offset = 0;
  for (let i = 0; i < tokens.length; i++) {
    starts[i] = offset;
    const token = tokens[i] as number;
    let length = token < lengths.length ? (lengths[token] as number) : 0;
    if (length === 0) {
      // Decoding a token crosses into tiktoken's WebAssembly; each distinct token is decoded once per process.
      length = encoder.decode_single_token_bytes(token).length;
      if (token < lengths.length) lengths[token] = length;
    }
    offset += length;
  }
  starts[tokens.length] = offset;

  const chunks: TextChunk[] = [];
  const step = opts.chunkTokens - opts.overlapTokens;
  for (let first = 0; first < tokens.length; first += step) {
    const last = Math.min(tokens.length, first + opts.chunkTokens);
    let from = toCharBoundary(bytes, starts[first] as number, +1);
    let to = toCharBoundary(bytes, starts[last] as number, -1);
    if (first > 0) from = toWordStart(bytes, from, to);
    if (last < tokens.length) to = toWhitespace(bytes, from, to);
    const content = bytes.subarray(from, to).toString("utf8").trim();
    if (content !== "") chunks.push({ index: chunks.length, content, tokenCount: countTokens(content, opts.model) });
    if (last === tokens.length) break;
  }
  return chunks;
}

/** Each token's length in bytes, by token id (0 = not decoded yet; no token is empty), per encoder. */
const byteLengths = new WeakMap<object, Uint16Array>();
function tokenLengths(encoder: object): Uint16Array {
  let lengths = byteLengths.get(encoder);
  if (!lengths) {
    lengths = new Uint16Array(1 << 18); // o200k_base has ~200k tokens
    byteLengths.set(encoder, lengths);
  }
  return lengths;
}

/** Moves a byte offset off UTF-8 continuation bytes (10xxxxxx), forwards or backwards. */
function toCharBoundary(bytes: Buffer, at: number, direction: 1 | -1): number {
  let i = at;
  while (i > 0 && i < bytes.length && ((bytes[i] as number) & 0xc0) === 0x80) i += direction;
  return i;
}

/** Moves a window's start past a partial word, to just after the first whitespace in its first fifth. */
function toWordStart(bytes: Buffer, from: number, to: number): number {
  if (isSpace(bytes[from - 1] as number)) return from;
  const ceiling = from + Math.floor((to - from) / 5);
  for (let i = from; i < ceiling; i++) if (isSpace(bytes[i] as number)) return i + 1;
  return from;
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;

/** Pulls a window's end back to the last whitespace in its final fifth, so words are not cut in half. */
function toWhitespace(bytes: Buffer, from: number, to: number): number {
  const floor = from + Math.floor(((to - from) * 4) / 5);
  for (let i = to; i > floor; i--) {
    if (isSpace(bytes[i - 1] as number)) return i;
  }
  return to;
}
