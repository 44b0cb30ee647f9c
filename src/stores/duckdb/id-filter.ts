// A Bloom filter over the context ids a DuckDB ledger holds, so an append of a new id (nearly every append) is known
// not to be stored without a query. "Maybe" answers are checked in DuckDB; "no" is exact once the filter holds every
// id stored (built from the table, plus every id acknowledged since the build began).
import type { DuckDatabase } from "./database.js";

const BITS_PER_ID = 16; // with 7 probes: ~0.05% of new ids look stored (and cost one query)
const PROBES = 7;
const MIN_IDS = 1 << 16;
const PAGE = 50_000;

/** FNV-1a over the UTF-16 code units, from a seed (two seeds give the two hashes double hashing needs). */
function fnv(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

class Bloom {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  added = 0;

  constructor(readonly capacity: number) {
    let size = 1 << 10;
    while (size < capacity * BITS_PER_ID) size *= 2;
    this.bits = new Uint32Array(size / 32);
    this.mask = size - 1;
  }

  add(id: string): void {
    const a = fnv(id, 0x811c9dc5);
    const b = fnv(id, 0x9747b28c) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = (a + Math.imul(i, b)) & this.mask;
      this.bits[bit >>> 5] = (this.bits[bit >>> 5] as number) | (1 << (bit & 31));
    }
    this.added++;
  }

  has(id: string): boolean {
    const a = fnv(id, 0x811c9dc5);
    const b = fnv(id, 0x9747b28c) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = (a + Math.imul(i, b)) & this.mask;
      if (((this.bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** The ids of one ledger table; `mayHave` is true for every stored id (and until the first build is done, for all). */
export class IdFilter {
  private ready: Bloom | null = null;
  private building: Bloom | null = null;

  /** `current`: the ids acknowledged but perhaps not yet in the table, at the moment a build starts. */
  constructor(
    private readonly db: DuckDatabase,
    private readonly current: () => Iterable<string>,
  ) {}

  mayHave(id: string): boolean {
    return this.ready === null || this.ready.has(id);
  }

  /** An id acknowledged as stored from now on. */
  add(id: string): void {
    this.ready?.add(id);
    this.building?.add(id);
    if (this.ready && this.ready.added > this.ready.capacity * 2 && !this.building) this.build().catch(() => undefined);
  }

  /** Reads every id from the table (pages by rowid: append-only, so 0..n-1) into a new filter, then uses it. */
  async build(): Promise<void> {
    const [sized] = await this.db.query<{ n: bigint }>("SELECT count(*) AS n FROM fabra_context_records");
    const bloom = new Bloom(Math.max(MIN_IDS, 2 * Number(sized?.n ?? 0)));
    this.building = bloom;
    try {
      // In this order: an id acknowledged from now on is added as it is; one acknowledged before is still waiting
      // (added here) or already in the table before the read of its last rowid below (read from the pages).
      for (const id of this.current()) bloom.add(id);
      const [top] = await this.db.query<{ last: bigint | null }>(
        "SELECT max(rowid) AS last FROM fabra_context_records",
      );
      const last = top?.last === null || top?.last === undefined ? -1 : Number(top.last);
      for (let from = 0; from <= last; from += PAGE) {
        const rows = await this.db.query<{ context_id: string }>(
          "SELECT context_id FROM fabra_context_records WHERE rowid >= $1 AND rowid < $2",
          [from, from + PAGE],
        );
        for (const r of rows) bloom.add(r.context_id);
      }
      this.ready = bloom;
    } finally {
      this.building = null;
    }
  }
}
