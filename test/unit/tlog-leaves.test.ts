// What a leaf of the transparency log is (TLOG-001 §1), how subtree hashes are filed into tiles (§2), and the
// background sequencer's coalescing (a burst of schedules costs one step; idle() starts a step waiting for its delay).
import { describe, expect, it } from "vitest";
import { LogSequencer } from "../../src/engine/ledger/sequencer.js";
import { OUTCOME_DOMAIN_PREFIX } from "../../src/engine/ledger/outcome.js";
import { tileId } from "../../src/stores/transparency-log.js";
import { leafBytes, leafKind, OUTCOME_LEAF_PREFIX, outcomeLeafBytes } from "../../src/tlog/leaves.js";
import { inclusionRanges, rangeNodes } from "../../src/tlog/merkle.js";

describe("transparency log leaves", () => {
  it("records are their canonical text; outcome entries are prefixed (the outcome hash's bytes)", () => {
    expect(OUTCOME_LEAF_PREFIX).toBe(OUTCOME_DOMAIN_PREFIX);
    expect(leafKind("ctx_0190a1b2-c3d4-7e5f-8a9b-000000000001")).toBe("record");
    expect(leafKind("out_8f0e")).toBe("outcome");
    expect(Buffer.from(leafBytes("ctx_x", '{"a":"é"}')).toString("utf8")).toBe('{"a":"é"}');
    expect(Buffer.from(outcomeLeafBytes('{"a":1}')).toString("utf8")).toBe('fabra:outcome:v1\n{"a":1}');
    expect(Buffer.from(leafBytes("out_x", '{"a":1}'))).toEqual(Buffer.from(outcomeLeafBytes('{"a":1}')));
  });
});

describe("tiles", () => {
  it("file node (l, k) under band ⌊l/8⌋, tile k >> (8 - l mod 8): one tile holds a height-8 subtree", () => {
    expect(tileId({ level: 0, index: 0 })).toBe("0/0");
    expect(tileId({ level: 0, index: 255 })).toBe("0/0");
    expect(tileId({ level: 0, index: 256 })).toBe("0/1");
    expect(tileId({ level: 7, index: 1 })).toBe("0/0");
    expect(tileId({ level: 7, index: 2 })).toBe("0/1");
    expect(tileId({ level: 8, index: 0 })).toBe("1/0");
    expect(tileId({ level: 8, index: 300 })).toBe("1/1");
    expect(tileId({ level: 19, index: 1 })).toBe("2/0");
  });

  it("an audit path in a tree of 1,000,000 leaves falls in at most a few tiles", () => {
    for (const leaf of [0, 1, 123_456, 524_287, 999_999]) {
      const keys = inclusionRanges(leaf, 1_000_000).flatMap(rangeNodes);
      expect(keys.length).toBeGreaterThanOrEqual(12);
      expect(new Set(keys.map(tileId)).size).toBeLessThanOrEqual(8);
    }
  });
});

describe("LogSequencer", () => {
  it("coalesces a burst into one step, and idle() runs a step still waiting for its delay at once", async () => {
    let steps = 0;
    const sequencer = new LogSequencer(
      async () => {
        steps++;
      },
      () => undefined,
      60_000,
    );
    for (let i = 0; i < 100; i++) sequencer.schedule();
    await sequencer.idle();
    expect(steps).toBe(1);
    await sequencer.idle();
    expect(steps).toBe(1);
  });
});
