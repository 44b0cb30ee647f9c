// What a leaf of the transparency log is (TLOG-001 §1), how subtree hashes are filed into tiles (§2), and the
// background sequencer's coalescing (a burst of schedules costs one step; idle() starts a step waiting for its delay).
import { describe, expect, it } from "vitest";
import { LogSequencer } from "../../src/engine/ledger/sequencer.js";
import { OUTCOME_DOMAIN_PREFIX } from "../../src/engine/ledger/outcome.js";
import { tileId, tileSlot } from "../../src/stores/tlog-tiles.js";
import { TreeFrontier } from "../../src/tlog/frontier.js";
import { leafBytes, leafKind, OUTCOME_LEAF_PREFIX, outcomeLeafBytes } from "../../src/tlog/leaves.js";
import {
  extendTree,
  inclusionRanges,
  leafHash,
  newInteriorNodes,
  type NodeKey,
  nodeHash,
  nodeId,
  rangeNodes,
  treeHash,
} from "../../src/tlog/merkle.js";

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

describe("tile slots", () => {
  it("number a tile's nodes in the order the tree completes them: 0..509, each after its children", () => {
    // grow the tree one leaf at a time; the nodes each leaf completes, lowest first, in tiles 0/0 and 1/0
    const order = new Map<string, string[]>();
    for (let size = 1; size <= 65_536; size++) {
      const done: NodeKey[] = [{ level: 0, index: size - 1 }, ...newInteriorNodes(size - 1, size)];
      for (const k of done) {
        const id = tileId(k);
        if (id !== "0/0" && id !== "1/0" && id !== "0/255") continue;
        const list = order.get(id) ?? [];
        order.set(id, list);
        list.push(nodeId(k));
      }
    }
    for (const id of ["0/0", "0/255", "1/0"]) {
      const keys = (order.get(id) as string[]).map((k) => {
        const [level, index] = k.split("/").map(Number);
        return { level: level as number, index: index as number };
      });
      expect(keys).toHaveLength(510);
      expect(keys.map(tileSlot)).toEqual(keys.map((_, i) => i));
    }
    expect(tileSlot({ level: 0, index: 0 })).toBe(0);
    expect(tileSlot({ level: 1, index: 0 })).toBe(2);
    expect(tileSlot({ level: 7, index: 1 })).toBe(509);
    expect(tileSlot({ level: 8, index: 256 })).toBe(0); // band 1, tile 1
  });
});

/** RFC 6962's Merkle tree hash of leaf hashes, by its recursive definition. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe("TreeFrontier", () => {
  it("extends the tree from its right edge alone, as from every stored node, at every size up to 300", async () => {
    const hashes = Array.from({ length: 300 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const stored = new Map<string, Uint8Array>();
    const read = async (keys: readonly NodeKey[]) => keys.map((k) => stored.get(nodeId(k)) as Uint8Array);
    let frontier = TreeFrontier.of(0, []);
    let size = 0;
    for (const burst of [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 57, 100]) {
      const added = await extendTree(size, hashes.slice(size, size + burst), frontier.read);
      expect(added).toEqual(await extendTree(size, hashes.slice(size, size + burst), read.bind(null)));
      for (const n of added) stored.set(nodeId(n.key), n.hash);
      size += burst;
      frontier = frontier.advance(size, added);
      expect(frontier.size).toBe(size);
      expect(await frontier.read(TreeFrontier.keys(size))).toEqual(await read(TreeFrontier.keys(size)));
      expect(await treeHash(size, frontier.read)).toEqual(await treeHash(size, read));
      expect(await treeHash(size, read)).toEqual(mth(hashes.slice(0, size))); // RFC 6962's definition, recursively
    }
    expect(size).toBe(300);
    await expect(frontier.read([{ level: 0, index: 0 }])).rejects.toThrow(/not on the frontier/);
    expect(() => TreeFrontier.of(3, [hashes[0] as Uint8Array])).toThrow(/2 frontier subtrees/);
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

  it("starts a step asked for during a step only after the delay; idle() runs the rest back to back", async () => {
    const starts: number[] = [];
    const sequencer: LogSequencer = new LogSequencer(
      async () => {
        starts.push(performance.now());
        if (starts.length < 3) sequencer.schedule(); // appends arrived while this step ran
      },
      () => undefined,
      80,
    );
    sequencer.schedule();
    await sequencer.idle(); // the first step starts at once; the two asked for after it do not wait
    expect(starts).toHaveLength(3);

    starts.length = 0;
    const paced: LogSequencer = new LogSequencer(
      async () => {
        starts.push(performance.now());
        if (starts.length < 3) paced.schedule();
      },
      () => undefined,
      80,
    );
    paced.schedule();
    while (starts.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    await paced.idle();
    expect(starts).toHaveLength(3);
    // at least the delay between two steps of one burst (a timer fires no earlier than asked, give or take 1 ms)
    for (let i = 1; i < starts.length; i++)
      expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(79);
  });
});
