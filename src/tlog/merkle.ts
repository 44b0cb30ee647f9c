// RFC 6962 / RFC 9162 Merkle tree hashing: leaf and node hashes, tree heads, inclusion and consistency proofs
// (planned as the stored subtree hashes they need, then computed) and their verification. Pure: no I/O.
import * as crypto from "node:crypto";
import { createHash } from "node:crypto";

export const HASH_SIZE = 32;

/** A complete subtree: the 2^level leaves starting at index * 2^level. Level 0 is a leaf hash. */
export interface NodeKey {
  level: number;
  index: number;
}

/** Reads stored complete-subtree hashes, in the order asked. */
export type NodeReader = (keys: readonly NodeKey[]) => Promise<Uint8Array[]>;

// Hashed one-shot (crypto.hash, Node >= 20.12) where there is one: a Hash object and its two or three updates per
// hash cost about as much as hashing a small record. The prefixed input is built in a scratch buffer (synchronous).
type OneShot = (algorithm: string, data: Uint8Array, encoding: "buffer") => Buffer;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;
let scratch = new Uint8Array(1 << 14);
const pair = new Uint8Array(1 + 2 * HASH_SIZE);

/** SHA-256(0x00 || bytes): the hash of one leaf. */
export function leafHash(bytes: Uint8Array): Uint8Array {
  if (!oneShot) return createHash("sha256").update(LEAF_PREFIX).update(bytes).digest();
  if (scratch.length < bytes.length + 1) scratch = new Uint8Array(2 * (bytes.length + 1));
  scratch[0] = 0;
  scratch.set(bytes, 1);
  return oneShot("sha256", scratch.subarray(0, bytes.length + 1), "buffer");
}

/** The leaf hash of the bytes after `prefixed`'s first byte, which the caller has set to 0x00 (no copy). */
export function prefixedLeafHash(prefixed: Uint8Array): Uint8Array {
  return oneShot ? oneShot("sha256", prefixed, "buffer") : leafHash(prefixed.subarray(1));
}

/** SHA-256(0x01 || left || right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!oneShot || left.length !== HASH_SIZE || right.length !== HASH_SIZE)
    return createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest();
  pair[0] = 1;
  pair.set(left, 1);
  pair.set(right, 1 + HASH_SIZE);
  return oneShot("sha256", pair, "buffer");
}

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

/** SHA-256 of nothing: the head of the empty tree. */
export const EMPTY_TREE_HASH: Uint8Array = createHash("sha256").digest();

/** The largest power of two strictly below n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A leaf range [start, end) whose hash a proof carries (start is aligned to the range's split, as RFC 6962 has it). */
export interface Range {
  start: number;
  end: number;
}

/** The complete subtrees that make up a range, left to right (largest first). */
export function rangeNodes(range: Range): NodeKey[] {
  const keys: NodeKey[] = [];
  let start = range.start;
  while (start < range.end) {
    let level = 0;
    while (start % 2 ** (level + 1) === 0 && start + 2 ** (level + 1) <= range.end) level++;
    keys.push({ level, index: start / 2 ** level });
    start += 2 ** level;
  }
  return keys;
}

/** The hash of a range from its complete subtrees (as rangeNodes lists them): folded from the right. */
export function foldRange(hashes: readonly Uint8Array[]): Uint8Array {
  let h = hashes[hashes.length - 1];
  if (!h) return EMPTY_TREE_HASH;
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i] as Uint8Array, h);
  return h;
}

/** Reads the hashes of several ranges with one read of their subtrees. */
export async function rangeHashes(ranges: readonly Range[], read: NodeReader): Promise<Uint8Array[]> {
  const plans = ranges.map(rangeNodes);
  const flat = await read(plans.flat());
  let at = 0;
  return plans.map((plan) => {
    const part = flat.slice(at, at + plan.length);
    at += plan.length;
    return foldRange(part);
  });
}

/** The tree head of the first `size` leaves. */
export async function treeHash(size: number, read: NodeReader): Promise<Uint8Array> {
  if (size === 0) return EMPTY_TREE_HASH;
  return (await rangeHashes([{ start: 0, end: size }], read))[0] as Uint8Array;
}

/** The ranges of the audit path of leaf `index` in a tree of `size` leaves, leaf to root (RFC 9162 §2.1.3.1). */
export function inclusionRanges(index: number, size: number): Range[] {
  checkIndex(index, size);
  const out: Range[] = [];
  const walk = (start: number, end: number): void => {
    if (end - start <= 1) return;
    const k = splitPoint(end - start);
    if (index - start < k) {
      walk(start, start + k);
      out.push({ start: start + k, end });
    } else {
      walk(start + k, end);
      out.push({ start, end: start + k });
    }
  };
  walk(0, size);
  return out;
}

/** The ranges of the consistency proof from a tree of `oldSize` to one of `newSize` leaves (RFC 9162 §2.1.4.1). */
export function consistencyRanges(oldSize: number, newSize: number): Range[] {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize)
    throw new RangeError(`no consistency proof from tree size ${oldSize} to ${newSize}`);
  const out: Range[] = [];
  if (oldSize === 0 || oldSize === newSize) return out;
  const walk = (m: number, start: number, end: number, whole: boolean): void => {
    if (m === end - start) {
      if (!whole) out.push({ start, end });
      return;
    }
    const k = splitPoint(end - start);
    if (m <= k) {
      walk(m, start, start + k, whole);
      out.push({ start: start + k, end });
    } else {
      walk(m - k, start + k, end, false);
      out.push({ start, end: start + k });
    }
  };
  walk(oldSize, 0, newSize, true);
  return out;
}

export async function inclusionProof(index: number, size: number, read: NodeReader): Promise<Uint8Array[]> {
  return rangeHashes(inclusionRanges(index, size), read);
}

export async function consistencyProof(oldSize: number, newSize: number, read: NodeReader): Promise<Uint8Array[]> {
  return rangeHashes(consistencyRanges(oldSize, newSize), read);
}

function checkIndex(index: number, size: number): void {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    throw new RangeError(`leaf ${index} is not in a tree of ${size} leaves`);
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** The root an audit path leads to (RFC 9162 §2.1.3.2), or null when the path does not fit the index and size. */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== HASH_SIZE || sn === 0) return null;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      r = nodeHash(r, p);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 ? r : null;
}

/** Whether `proof` shows leaf `leaf` at `index` in the tree of `size` leaves with head `root`. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return computed !== null && equalHashes(computed, root);
}

/** Whether `proof` shows the tree (newSize, newRoot) extends the tree (oldSize, oldRoot) (RFC 9162 §2.1.4.2). */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize)
    return false;
  if (oldSize === newSize) return proof.length === 0 && equalHashes(oldRoot, newRoot);
  if (oldSize === 0) return proof.length === 0;
  if (proof.length === 0 || proof.some((p) => p.length !== HASH_SIZE)) return false;
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) [fn, sn] = [half(fn), half(sn)];
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      sr = nodeHash(sr, c);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && equalHashes(fr, oldRoot) && equalHashes(sr, newRoot);
}

/**
 * The complete subtrees that become whole when the tree grows from `oldSize` to `newSize` leaves (levels >= 1),
 * lowest level first, so each one's children are already known when it is computed.
 */
export function newInteriorNodes(oldSize: number, newSize: number): NodeKey[] {
  const keys: NodeKey[] = [];
  for (let level = 1; 2 ** level <= newSize; level++) {
    const width = 2 ** level;
    for (let index = Math.floor(oldSize / width); (index + 1) * width <= newSize; index++) keys.push({ level, index });
  }
  return keys;
}

/** A stored subtree hash: its key and value. */
export interface StoredNode {
  key: NodeKey;
  hash: Uint8Array;
}

/**
 * The subtree hashes to store when `leaves` (leaf hashes) are appended to a tree of `oldSize` leaves: each leaf
 * (level 0) and every interior node that becomes complete, lowest level first. Reads only the complete old subtrees
 * those need: at most one per level, the left child of the level's first new node (O(log n)). Level by level over
 * arrays, so a step of thousands of leaves builds no per-node keys.
 */
export async function extendTree(
  oldSize: number,
  leaves: readonly Uint8Array[],
  read: NodeReader,
): Promise<StoredNode[]> {
  const newSize = oldSize + leaves.length;
  /** The nodes of `level` that become complete: indices [lo, hi). */
  const span = (level: number) => [Math.floor(oldSize / 2 ** level), Math.floor(newSize / 2 ** level)] as const;
  const old: NodeKey[] = [];
  for (let level = 1; ; level++) {
    const [lo, hi] = span(level);
    if (hi <= lo) break; // no new node at this level, so none above it
    if (2 * lo < span(level - 1)[0]) old.push({ level: level - 1, index: 2 * lo });
  }
  const oldHashes = await read(old);
  const out: StoredNode[] = leaves.map((hash, i) => ({ key: { level: 0, index: oldSize + i }, hash }));
  let below: readonly Uint8Array[] = leaves; // the level under the current one, from index `belowStart`
  let belowStart = oldSize;
  let oldAt = 0;
  for (let level = 1; ; level++) {
    const [lo, hi] = span(level);
    if (hi <= lo) break;
    if (2 * lo < belowStart) {
      below = [oldHashes[oldAt++] as Uint8Array, ...below];
      belowStart = 2 * lo;
    }
    const row: Uint8Array[] = [];
    for (let index = lo; index < hi; index++) {
      const left = below[2 * index - belowStart];
      const right = below[2 * index + 1 - belowStart];
      if (!left || !right) throw new Error(`missing a child of node ${level}/${index}`);
      const hash = nodeHash(left, right);
      row.push(hash);
      out.push({ key: { level, index }, hash });
    }
    below = row;
    belowStart = lo;
  }
  return out;
}

/** A node's text key, `<level>/<index>`, as the stores file it. */
export const nodeId = (k: NodeKey): string => `${k.level}/${k.index}`;
