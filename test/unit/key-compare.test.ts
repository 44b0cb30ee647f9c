// The constant-time key compare behind API-key auth: padded fixed-size forms for short keys, digests for long ones.
import { describe, expect, it } from "vitest";
import { createAuth } from "../../src/server/auth.js";
import { FIXED_BYTES, keyMatcher } from "../../src/server/key-compare.js";

describe("keyMatcher", () => {
  const atLimit = "k".repeat(FIXED_BYTES);
  const overLimit = "k".repeat(FIXED_BYTES + 1);
  const keys = ["alpha", "alphabet", "ключ-ü", atLimit, overLimit, `${overLimit}x`];
  const match = keyMatcher(keys);

  it("says which key the presented one is, short or long", () => {
    for (const [i, key] of keys.entries()) expect(match(key)).toBe(i);
  });

  it("matches no prefix, extension, padding or near miss", () => {
    for (const other of [
      "",
      "alph",
      "alpha ",
      "alpha\u0000",
      "Alpha",
      "alphabets",
      "ключ-u",
      atLimit.slice(1),
      `${atLimit}k`.slice(0, FIXED_BYTES - 1),
      `${overLimit.slice(0, -1)}j`,
      `${overLimit}y`,
      "k".repeat(FIXED_BYTES + 3),
    ])
      expect(match(other), JSON.stringify(other)).toBe(-1);
  });

  it("counts bytes, not characters: a multi-byte key past the limit in bytes is compared by digest", () => {
    const wide = "é".repeat(FIXED_BYTES / 2 + 1); // FIXED_BYTES + 2 bytes in UTF-8
    const m = keyMatcher([wide, "é".repeat(FIXED_BYTES / 2)]);
    expect(m(wide)).toBe(0);
    expect(m("é".repeat(FIXED_BYTES / 2))).toBe(1);
    expect(m("é".repeat(FIXED_BYTES / 2 - 1))).toBe(-1);
  });

  it("returns the first of equal keys, and nothing for an empty list", () => {
    expect(keyMatcher(["a", "b", "a"])("a")).toBe(0);
    expect(keyMatcher([])("a")).toBe(-1);
  });
});

describe("createAuth over keyMatcher", () => {
  it("tells the local token from an API key and refuses anything else, with or without a token", () => {
    const withToken = createAuth(["key-one", "key-two"], "t".repeat(64));
    expect(withToken.check({ authorization: `Bearer ${"t".repeat(64)}` }, "10.0.0.5")).toBe("local-token");
    expect(withToken.check({ apiKey: "key-two" }, "10.0.0.5")).toBe("api-key");
    const noToken = createAuth(["key-one"]);
    expect(noToken.check({ authorization: "Bearer key-one" }, "10.0.0.5")).toBe("api-key");
    for (const auth of [withToken, noToken])
      expect(() => auth.check({ authorization: "Bearer key-three" }, "127.0.0.1")).toThrow(
        expect.objectContaining({ code: "UNAUTHORIZED", message: "The API key is not valid" }),
      );
    // No keys configured: a presented key is still checked (only the local token can match), loopback alone is not asked.
    expect(() => createAuth([]).check({ apiKey: "anything" }, "127.0.0.1")).toThrow(
      expect.objectContaining({ code: "UNAUTHORIZED" }),
    );
  });
});
