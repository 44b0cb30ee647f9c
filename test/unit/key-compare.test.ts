// The constant-time key compare behind API-key auth: padded fixed-size forms for short keys, digests for long ones.
import fc from "fast-check";
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

  it("is indexOf over generated keys around the padded limit (odd bytes, multi-byte, near misses)", () => {
    // Characters of 1 to 4 UTF-8 bytes, NUL and latin-1 (what Node reads header bytes as) included.
    const char = fc.constantFrom("a", "k", "\0", "\u00e9", "\u00ff", " ", "\u0416", "\u20ac", "\u{1f511}");
    const around = fc.integer({ min: FIXED_BYTES - 6, max: FIXED_BYTES + 2 });
    const key = fc.oneof(
      fc.array(char, { minLength: 1, maxLength: 8 }).map((cs) => cs.join("")),
      fc.tuple(around, char).map(([n, c]) => "k".repeat(n) + c),
    );
    // Near misses of a key: one more or one fewer character, or one character changed.
    const nearMiss = (k: string, how: number) =>
      how === 0 ? `${k}\0` : how === 1 ? k.slice(0, -1) : `${k.slice(0, -1)}${k.endsWith("a") ? "b" : "a"}`;
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat(2), (keys, pick, how) => {
        const match = keyMatcher(keys);
        const chosen = keys[pick % keys.length] as string;
        for (const presented of [chosen, nearMiss(chosen, how), ...keys])
          expect(match(presented), JSON.stringify(presented)).toBe(keys.indexOf(presented));
      }),
      { numRuns: 500 },
    );
  });
});
