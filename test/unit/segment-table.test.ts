// The segment table finds a text by a range of another string and the range's hash, through growth, colliding
// hashes and clearing.
import { describe, expect, it } from "vitest";
import { hashOf, SegmentTable } from "../../src/engine/context/segment-table.js";

describe("segment table", () => {
  it("finds each text by any range equal to it, across growth, and nothing else", () => {
    const table = new SegmentTable();
    const keys = Array.from({ length: 20_000 }, (_, i) => ` w${i.toString(36)}`);
    for (const [i, key] of keys.entries()) table.set(key, hashOf(key), Uint16Array.of(i % 65_536));
    expect(table.size).toBe(20_000);
    const text = `x${keys.join("")}y`;
    let from = 1;
    keys.forEach((key, i) => {
      expect(table.get(text, from, from + key.length, hashOf(key))?.[0]).toBe(i % 65_536);
      from += key.length;
    });
    expect(table.get(" wnope", 0, 6, hashOf(" wnope"))).toBeUndefined();
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(text, 1, 1 + (keys[0] as string).length, hashOf(keys[0] as string))).toBeUndefined();
  });

  it("tells apart texts whose hashes are equal", () => {
    const table = new SegmentTable();
    for (const [i, key] of ["ab", "ba", "abc", "zz"].entries()) table.set(key, 7, Uint16Array.of(i));
    expect(table.get("xbay", 1, 3, 7)?.[0]).toBe(1);
    expect(table.get("abc", 0, 2, 7)?.[0]).toBe(0);
    expect(table.get("abc", 0, 3, 7)?.[0]).toBe(2);
    expect(table.get("zz", 0, 2, 7)?.[0]).toBe(3);
    expect(table.get("zy", 0, 2, 7)).toBeUndefined();
  });
});
