// Tokenizing by segments (cut at spaces between ASCII lowercase letters, each segment remembered) gives exactly
// what tiktoken gives for the whole text, on both encoders.
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import {
  chunkTokenCounts,
  clearSegmentCache,
  countBySegments,
  tokenByteStarts,
} from "../../src/engine/context/token-segments.js";
import { countIn, type Encoding, encoderOf } from "../../src/engine/context/tokens.js";

/** Byte offsets of tiktoken's own tokens of the whole text, and the end. */
function tiktokenStarts(text: string, encoding: Encoding): number[] {
  const encoder = encoderOf(encoding);
  const starts: number[] = [];
  let offset = 0;
  for (const token of encoder.encode_ordinary(text)) {
    starts.push(offset);
    offset += encoder.decode_single_token_bytes(token).length;
  }
  starts.push(offset);
  return starts;
}

const piece = fc.oneof(
  fc.constantFrom(
    "the",
    "café",
    "naïve",
    "x",
    "A",
    "I'm",
    "it's",
    "don't",
    "2024",
    "1234567",
    "😀",
    "日本語",
    "gpt-4o",
  ),
  fc.constantFrom(
    " ",
    "  ",
    "   ",
    "\n",
    "\n\n",
    " \n ",
    ".",
    ", ",
    "!\n",
    "\t",
    "'s",
    "'S",
    "...",
    "--",
    "/",
    "\u00a0",
  ),
  fc.string({ minLength: 1, maxLength: 6 }),
);
const encodings = fc.constantFrom<Encoding>("cl100k_base", "o200k_base");

/**
 * ASCII text, where a new segment is split into tiktoken's pre-tokenizer pieces in JS: every branch of both patterns
 * (contractions in either case, capitals before and after lowercase, digit runs, punctuation runs with their
 * newlines and `/`, whitespace runs before a word, a newline or the end, `\r\n`, `\v`, `\f`, control characters).
 */
const asciiPiece = fc.oneof(
  fc.constantFrom("the", "The", "THE", "tHe", "HTTPServer", "McDonald", "iPhone", "x", "Z", "a1b2", "0", "12", "1234"),
  fc.constantFrom("ading", "ally", "ing", "ever", "am", "ound", "ome", "ion", "ar", "ello", "ocket"),
  fc.constantFrom("'s", "'S", "'t", "'re", "'RE", "'rE", "'ve", "'m", "'M", "'ll", "'Ll", "'d", "'D", "'x", "'"),
  fc.constantFrom(" ", "  ", "   ", "\t", " \t ", "\n", "\n\n", " \n", "\n ", "\r\n", "\r", "\v", "\f", " \f\n"),
  fc.constantFrom(
    ".",
    ". ",
    ".\n",
    " .\n",
    "...",
    ",",
    "!?",
    "/",
    "//",
    "./",
    "-",
    "--",
    "_",
    "()",
    "{}",
    "$",
    "#",
    "@",
  ),
  fc.constantFrom("\u0000", "\u0001", "\u001f", "\u007f", "\u001c", "\u0085"),
  fc.string({ minLength: 1, maxLength: 8, unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) }),
);

describe("token segments", () => {
  beforeEach(() => clearSegmentCache());

  it("give tiktoken's own token boundaries and counts for any text, cold and from the cache", () => {
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 300 }), encodings, (parts, encoding) => {
        const text = parts.join("");
        const expected = tiktokenStarts(text, encoding);
        expect([...tokenByteStarts(text, encoding)]).toEqual(expected);
        expect([...tokenByteStarts(text, encoding)]).toEqual(expected); // every segment a cache hit now
        expect(countBySegments(text, encoding)).toBe(countIn(text, encoding));
      }),
      { numRuns: 300 },
    );
  });

  it("give tiktoken's own tokens for ASCII text split into pre-tokenizer pieces, cold and from the cache", () => {
    fc.assert(
      fc.property(fc.array(asciiPiece, { minLength: 1, maxLength: 200 }), encodings, (parts, encoding) => {
        clearSegmentCache();
        const text = parts.join("");
        const expected = tiktokenStarts(text, encoding);
        expect([...tokenByteStarts(text, encoding)]).toEqual(expected);
        expect([...tokenByteStarts(text, encoding)]).toEqual(expected);
        // Pieces remembered from other texts, then segments made of them.
        const shuffled = [...parts].reverse().join(" ");
        expect([...tokenByteStarts(shuffled, encoding)]).toEqual(tiktokenStarts(shuffled, encoding));
      }),
      { numRuns: 1000 },
    );
  });

  it("count text that has no cut at all (one long segment) and the empty text", () => {
    const code = "const x=[1,2,3];\nfor(let i=0;i<x.length;i++){console.log(x[i])}\n".repeat(20);
    for (const encoding of ["cl100k_base", "o200k_base"] as const) {
      expect(countBySegments(code, encoding)).toBe(countIn(code, encoding));
      expect(countBySegments("", encoding)).toBe(0);
      expect([...tokenByteStarts("", encoding)]).toEqual([0]);
    }
  });

  it("give a chunk's count in each encoding asked for, keeping the cl100k count chunking made", () => {
    const text = "the quick brown fox jumps over the lazy dog's back, twice: 2024 — naïve café";
    expect(chunkTokenCounts(text, 7, ["o200k_base"])).toEqual({
      cl100k_base: 7,
      o200k_base: countIn(text, "o200k_base"),
    });
  });
});
