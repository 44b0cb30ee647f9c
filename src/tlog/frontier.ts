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
    const known = new Map(this.hashes);
    for (const n of added) known.set(nodeId(n.key), n.hash);
    return TreeFrontier.of(
      newSize,
      TreeFrontier.keys(newSize).map((k) => {
        const hash = known.get(nodeId(k));
        if (!hash) throw new Error(`subtree ${nodeId(k)} of the new frontier is neither old nor new`);
        return hash;
      }),
    );
  }
}
