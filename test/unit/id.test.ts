// ctx_<UUIDv7> ids: version and variant bits, time prefix, monotonic within a millisecond, id normalization.
import { describe, expect, it } from "vitest";
import { contextIdTime, newContextId, normalizeContextId } from "../../src/record/id.js";

describe("context ids", () => {
  it("are UUIDv7 with the creation time in front", () => {
    const before = Date.now();
    const id = newContextId();
    expect(id).toMatch(/^ctx_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(contextIdTime(id)).toBeGreaterThanOrEqual(before);
    expect(contextIdTime(id)).toBeLessThanOrEqual(Date.now());
  });

  it("sort in creation order, also many within one millisecond", () => {
    const fixed = Date.now() + 10_000; // a millisecond no earlier call has used
    const ids = Array.from({ length: 5000 }, () => newContextId(fixed));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const later = Array.from({ length: 100 }, () => newContextId());
    expect([...ids, ...later].sort()).toEqual([...ids, ...later]); // a clock that has not caught up never goes back
  });

  it("never share their random bits, also across refills of the random pool", () => {
    // rand_b (the last 62 bits) of ids made in one millisecond: 3000 ids take 24,000 pool bytes (several refills).
    const fixed = Date.now() + 20_000;
    const tails = Array.from({ length: 3000 }, () => newContextId(fixed).slice(-17));
    expect(new Set(tails).size).toBe(tails.length);
  });

  it("accept ctx_<uuid> or the bare uuid in any case, and refuse anything else", () => {
    const id = "ctx_0190a1b2-0000-7000-8000-000000000001";
    expect(normalizeContextId(id)).toBe(id);
    expect(normalizeContextId(" 0190A1B2-0000-7000-8000-000000000001 ")).toBe(id);
    for (const bad of [
      "",
      "ctx_",
      "ctx_123",
      "0190a1b2-0000-7000-8000-00000000000",
      "ctx_0190a1b2-0000-7000-8000-00000000000g",
    ]) {
      expect(() => normalizeContextId(bad)).toThrow(expect.objectContaining({ code: "INVALID_ID" }));
    }
  });
});
