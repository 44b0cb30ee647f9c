// The one token-budget parser (explain's --max-tokens flag, the viewer's field, the HTTP body).
import { describe, expect, it } from "vitest";
import { parseMaxTokens } from "../../src/util/max-tokens.js";

describe("parseMaxTokens", () => {
  it("takes a whole number ≥ 1 as text or number, and none / null for no budget", () => {
    expect(parseMaxTokens("4000", "--max-tokens")).toBe(4000);
    expect(parseMaxTokens(1, "max_tokens", "json")).toBe(1);
    expect(parseMaxTokens("none", "--max-tokens")).toBe(null);
    expect(parseMaxTokens(null, "max_tokens", "json")).toBe(null);
  });

  it("refuses anything else with one message naming the caller's name for it", () => {
    for (const bad of ["0", "-1", "1e3", "0x10", " 4", "4.5", "", "NONE", 4000, null])
      expect(() => parseMaxTokens(bad, "--max-tokens"), String(bad)).toThrow(
        expect.objectContaining({
          code: "INVALID_ARGUMENT",
          message: expect.stringMatching(/^--max-tokens .* is not a whole number ≥ 1, or none for no budget$/),
          hint: "e.g. --max-tokens 4000 (the budget to try), or --max-tokens none.",
        }),
      );
    // From JSON: a number or null only (text there is a mistake too).
    for (const bad of [0, 2.5, Number.NaN, 2 ** 60, "4000", "none", true, [], {}])
      expect(() => parseMaxTokens(bad, "max_tokens", "json"), String(bad)).toThrow(
        expect.objectContaining({ message: expect.stringMatching(/^max_tokens .* is not a whole number ≥ 1/) }),
      );
    expect(() => parseMaxTokens(undefined, "max_tokens", "json")).toThrow(/^max_tokens \(missing\) is not/);
    expect(() => parseMaxTokens(12345678901234567890n, "max_tokens", "json")).toThrow(
      /^max_tokens 12345678901234567890 is/,
    );
  });
});
