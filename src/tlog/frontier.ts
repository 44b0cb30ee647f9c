// The right edge of a Merkle tree (its "compact range"): the hashes of the maximal complete subtrees that make up
// leaves [0, size), at most one per level. Appending to the tree needs only these (every old subtree extendTree reads
// is one of them), so a sequencer that keeps its frontier in memory extends the tree without reading stored nodes.
// Pure: no I/O.
import { type NodeKey, type NodeReader, nodeId, rangeNodes, type StoredNode } from "./merkle.js";

export class TreeFrontier {
  private constructor(
    readonly size: number,
    private readonly hashes: ReadonlyMap<string, Uint8Array>,
  ) {}

  /** The subtrees whose hashes make up the frontier of a tree of `size` leaves (largest first). */
  static keys(size: number): NodeKey[] {
    return rangeNodes({ start: 0, end: size });
  }

  /** The frontier of a tree of `size` leaves from those subtrees' hashes (in the order `keys(size)` lists them). */
  static of(size: number, hashes: readonly Uint8Array[]): TreeFrontier {
    const keys = TreeFrontier.keys(size);
    if (hashes.length !== keys.length)
      throw new RangeError(`a tree of ${size} leaves has ${keys.length} frontier subtrees, not ${hashes.length}`);
    return new TreeFrontier(size, new Map(keys.map((k, i) => [nodeId(k), hashes[i] as Uint8Array])));
  }

  /** A NodeReader over the frontier alone (for extendTree from this size); any other subtree is a bug. */
  readonly read: NodeReader = async (keys) =>
    keys.map((k) => {
      const hash = this.hashes.get(nodeId(k));
      if (!hash) throw new Error(`subtree ${nodeId(k)} is not on the frontier of a tree of ${this.size} leaves`);
      return hash;
    });

  /** The frontier after `added` (what extendTree returned for `newSize - size` leaves) was stored. */
  advance(newSize: number, added: readonly StoredNode[]): TreeFrontier {
    // `added` runs level by level, each level's indices consecutive (extendTree's order): where each level starts
    const levels = new Map<number, { at: number; first: number }>();
    for (let at = 0; at < added.length; at++) {
      const { level, index } = (added[at] as StoredNode).key;
      if (!levels.has(level)) levels.set(level, { at, first: index });
    }
    const find = (k: NodeKey): Uint8Array | undefined => {
      const run = levels.get(k.level);
      const n = run && k.index >= run.first ? added[run.at + k.index - run.first] : undefined;
      return n && n.key.level === k.level && n.key.index === k.index ? n.hash : this.hashes.get(nodeId(k));
    };
    return TreeFrontier.of(
      newSize,
      TreeFrontier.keys(newSize).map((k) => {
        const hash = find(k);
        if (!hash) throw new Error(`subtree ${nodeId(k)} of the new frontier is neither old nor new`);
        return hash;
      }),
    );
  }
}
