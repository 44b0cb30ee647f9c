// The lossless JSON reader's strings: the fast path (native searches + JSON.parse) must give exactly what the
// checking loop gives — the same value, or the same error at the same place — for any input.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJson } from "../../src/record/json.js";

/** The reader's string rules written out plainly (the checking loop), as the oracle: value or error message. */
function oracle(text: string): string {
  let i = 1;
  let escaped = false;
  for (;;) {
    const c = text.charCodeAt(i);
    if (Number.isNaN(c)) return `error:unterminated string@0`;
    if (c === 0x22) break;
    if (c === 0x5c) {
      escaped = true;
      i += 2;
      continue;
    }
    if (c < 0x20) return `error:control character in string@${i}`;
    i++;
  }
  let value = text.slice(1, i);
  if (escaped) {
    try {
      value = JSON.parse(text.slice(0, i + 1)) as string;
    } catch {
      return `error:invalid escape in string@0`;
    }
  }
  return /^[ \t\n\r]*$/.test(text.slice(i + 1)) ? `value:${value}` : "error:trailing";
}

function actual(text: string): string {
  try {
    return `value:${parseJson(text) as string}`;
  } catch (err) {
    const message = (err as Error).message;
    if (message.includes("unexpected text after the JSON value")) return "error:trailing";
    const m = /at line (\d+), column (\d+): (.*)$/.exec(message);
    if (!m) throw err;
    const lines = text.split("\n").slice(0, Number(m[1]) - 1);
    const offset = lines.reduce((n, l) => n + l.length + 1, 0) + Number(m[2]) - 1;
    return `error:${m[3]}@${offset}`;
  }
}

describe("JSON reader strings", () => {
  it("read escapes, non-ASCII and astral characters like JSON.parse", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(parseJson(JSON.stringify(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it("agree with the checking loop on malformed strings: same value or same error at the same place", () => {
    const piece = fc.constantFrom(
      '"',
      "\\",
      "\\\\",
      '\\"',
      "u",
      "00e9",
      "a",
      "é",
      "😀",
      "\n",
      "\u0001",
      "\\n",
      "\\u12",
      "\\x",
      " ",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = `"${pieces.join("")}`;
        expect(actual(text)).toBe(oracle(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("report the classic mistakes with their place", () => {
    expect(actual('"abc')).toBe("error:unterminated string@0");
    expect(actual('"ab\u0001c"')).toBe("error:control character in string@3");
    expect(actual('"a\\qb"')).toBe("error:invalid escape in string@0");
    expect(actual('"a\\\u0001b"')).toBe("error:invalid escape in string@0");
    expect(actual('"a\\\\"')).toBe("value:a\\");
    expect(actual('"a\\"b"')).toBe('value:a"b');
  });
});
