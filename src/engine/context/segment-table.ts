// A table from short texts to their tokens' byte lengths, looked up by a range of a longer string and that range's
// hash (computed by the caller while it scans the string anyway), so a hit slices and hashes nothing: tokenizing a
// document from the cache is one pass over its characters plus a probe per segment.

/** FNV-1a over UTF-16 code units: start with HASH_START, then `hash = hashStep(hash, code)` for each unit. */
export const HASH_START = 0x811c9dc5 | 0;
export const hashStep = (hash: number, code: number): number => Math.imul(hash ^ code, 0x01000193);

export function hashOf(text: string): number {
  let hash = HASH_START;
  for (let i = 0; i < text.length; i++) hash = hashStep(hash, text.charCodeAt(i));
  return hash;
}

/** Open addressing with linear probing, at most half full; `clear` starts over small. */
export class SegmentTable {
  private keys: (string | undefined)[] = [];
  private hashes = new Int32Array(0);
  private values: (Uint16Array | undefined)[] = [];
  private mask = 0;
  size = 0;

  constructor() {
    this.clear();
  }

  /** What was remembered for `text.slice(from, to)`, whose hash is `hash`. */
  get(text: string, from: number, to: number, hash: number): Uint16Array | undefined {
    const length = to - from;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = this.keys[slot];
      if (key === undefined) return undefined;
      if (this.hashes[slot] === hash && key.length === length && text.startsWith(key, from)) return this.values[slot];
    }
  }

  /** Remembers `value` for `key` (not in the table yet), whose hash is `hash`. */
  set(key: string, hash: number, value: Uint16Array): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    this.place(key, hash, value);
    this.size++;
  }

  clear(): void {
    this.resize(1 << 12, true);
  }

  private place(key: string, hash: number, value: Uint16Array): void {
    let slot = hash & this.mask;
    while (this.keys[slot] !== undefined) slot = (slot + 1) & this.mask;
    this.keys[slot] = key;
    this.hashes[slot] = hash;
    this.values[slot] = value;
  }

  private resize(capacity: number, empty = false): void {
    const { keys, hashes, values } = this;
    this.keys = new Array(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.values = new Array(capacity).fill(undefined);
    this.mask = capacity - 1;
    if (empty) {
      this.size = 0;
      return;
    }
    for (let slot = 0; slot < keys.length; slot++) {
      const key = keys[slot];
      if (key !== undefined) this.place(key, hashes[slot] as number, values[slot] as Uint16Array);
    }
  }
}
