// The transparency log's tiles (TLOG-001 §2): a read cache of the stored subtree hashes, grouped so an inclusion
// proof reads a few rows (five for a tree of 1,000,000 leaves) instead of one per hash, on both SQL backends.
//
// Tile (b, t) holds the nodes of levels 8b … 8b+7 under one level-8b+8 node: every node (l, k) with ⌊l/8⌋ = b and
// k >> (8 − l mod 8) = t, 510 of them once complete. Each node has a fixed slot in its tile, in the order the tree
// completes them (tileSlot), and a tile row holds the hex hashes of consecutive slots from `first_slot` on. So a
// sequencer step only appends: a complete tile is one row; the tile still filling up (one per band) is the rows its
// steps appended, folded into one row when it completes. Nothing is ever updated in place (an UPDATE of a long
// string costs DuckDB tens of milliseconds). A cache: a wrong tile only makes a proof that fails; checkpoints and
// `ledger verify` read the nodes.
import type { NodeKey } from "../tlog/merkle.js";
import type { LogInsert, LogQuery, LogTables } from "./transparency-log.js";

/** Slots in a complete tile (levels 0..7 of a height-8 subtree: 256 + 128 + … + 2). */
export const TILE_SLOTS = 510;
const HEX = 64;
const HEX_HASH = /^[0-9a-f]{64}$/;
const CHUNK = 500;

/** `$from, $from+1, …`: n bound parameters. */
export const placeholders = (n: number, from = 1): string =>
  Array.from({ length: n }, (_, j) => `$${j + from}`).join(", ");

/** The tile node (l, k) is filed under: `<band>/<tile>`. */
export function tileId(k: NodeKey): string {
  const band = Math.floor(k.level / 8);
  const shift = 8 - (k.level % 8);
  return `${band}/${Math.floor(k.index / 2 ** shift)}`;
}

/**
 * The slot of node (l, k) in its tile: the tree completes the tile's nodes in post-order (a node right after its
 * children). At sublevel s = l mod 8 and index j in the tile, the node completes with the tile's m-th bottom node,
 * m = (j+1)·2^s, after the 2(m−1) − popcount(m−1) nodes that m−1 bottom nodes complete and its s descendants on the
 * way up.
 */
export function tileSlot(k: NodeKey): number {
  const s = k.level % 8;
  const j = k.index % 2 ** (8 - s);
  const before = (j + 1) * 2 ** s - 1; // < 256
  // Σ_i ⌊before / 2^i⌋ = 2·before − popcount(before)
  let bits = before - ((before >> 1) & 0x55);
  bits = (bits & 0x33) + ((bits >> 2) & 0x33);
  return 2 * before - ((bits + (bits >> 4)) & 0x0f) + s;
}

/**
 * Fills the (empty) tiles table from the nodes table (and the leaf-hash table, where level 0 is kept apart): one row
 * per tile, from slot 0 (DuckDB schema 10, Postgres migration 10, the bench's raw fill). A tile with a gap (a node
 * missing from the table) is left out: proofs read its hashes from the nodes.
 */
export function tileBackfillSql(t: Pick<LogTables, "nodes" | "tiles" | "leafHashes">): string {
  const level = "CAST(split_part(node_key, '/', 1) AS INTEGER)";
  const index = "CAST(split_part(node_key, '/', 2) AS BIGINT)";
  // tileSlot in SQL (both dialects): s = level & 7, before = ((index mod 2^(8-s)) + 1) * 2^s - 1
  const before = `((((${index}) & ((1 << (8 - ((${level}) & 7))) - 1)) + 1) << ((${level}) & 7)) - 1`;
  const completed = Array.from({ length: 8 }, (_, i) => `(b >> ${i})`).join(" + ");
  const nodes = t.leafHashes
    ? `(SELECT node_key, hash FROM ${t.nodes} UNION ALL
        SELECT '0/' || CAST(leaf_index AS VARCHAR) AS node_key, hash FROM ${t.leafHashes}) k`
    : t.nodes;
  return `INSERT INTO ${t.tiles} (tile_key, first_slot, hashes)
    SELECT tile_key, 0, string_agg(hash, '' ORDER BY slot) FROM (
      SELECT hash, tile_key, ${completed} + s AS slot FROM (
        SELECT hash, (${level}) & 7 AS s, ${before} AS b,
          CAST((${level} >> 3) AS VARCHAR) || '/' || CAST((${index} >> (8 - (${level} & 7))) AS VARCHAR) AS tile_key
        FROM ${nodes}) n) m
    GROUP BY tile_key HAVING count(*) = max(slot) + 1`;
}

interface TileRow {
  tile_key: string;
  first_slot: bigint | number | string;
  hashes: string;
}

/** The rows of `ids`' tiles, as each tile's slots (hex; `undefined` where no row holds one). */
async function readTiles(q: LogQuery, t: LogTables, ids: readonly string[]): Promise<Map<string, string[]>> {
  const tiles = new Map<string, string[]>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    const rows = await q<TileRow>(
      `SELECT tile_key, first_slot, hashes FROM ${t.tiles} WHERE tile_key IN (${placeholders(part.length)})`,
      part,
    );
    for (const r of rows) {
      const slots = tiles.get(r.tile_key) ?? [];
      tiles.set(r.tile_key, slots);
      const first = Number(r.first_slot);
      for (let at = 0; at + HEX <= r.hashes.length && first + at / HEX < TILE_SLOTS; at += HEX)
        slots[first + at / HEX] = r.hashes.slice(at, at + HEX);
    }
  }
  return tiles;
}

/** Each key's hash from the tiles, or null where its tile holds none (one query for the few tiles involved). */
export async function readTileHashes(
  q: LogQuery,
  t: LogTables,
  keys: readonly NodeKey[],
): Promise<(Uint8Array | null)[]> {
  const tiles = await readTiles(q, t, [...new Set(keys.map(tileId))]);
  return keys.map((k) => {
    const hex = tiles.get(tileId(k))?.[tileSlot(k)];
    return hex !== undefined && HEX_HASH.test(hex) ? Buffer.from(hex, "hex") : null;
  });
}

/** One tile's new hashes from a step: consecutive slots from `first`. */
interface TileRun {
  id: string;
  first: number;
  hashes: string[];
}

/** A node a step stored, with its hash in hex (as the nodes table files it). */
export interface HexNode {
  key: NodeKey;
  hex: string;
}

/** The step's new nodes as runs of consecutive slots per tile (one per tile, unless the nodes have a gap). */
function tileRuns(nodes: readonly HexNode[]): TileRun[] {
  const byTile = new Map<string, { slot: number; hex: string }[]>();
  for (const n of nodes) {
    const id = tileId(n.key);
    const list = byTile.get(id) ?? [];
    byTile.set(id, list);
    list.push({ slot: tileSlot(n.key), hex: n.hex });
  }
  const runs: TileRun[] = [];
  for (const [id, list] of byTile) {
    list.sort((a, b) => a.slot - b.slot);
    let run: TileRun | null = null;
    for (const { slot, hex } of list) {
      if (!run || slot !== run.first + run.hashes.length) {
        run = { id, first: slot, hashes: [] };
        runs.push(run);
      }
      run.hashes.push(hex);
    }
  }
  return runs;
}

/**
 * Files a step's new nodes into their tiles, inside its transaction: a run that starts a tile replaces whatever rows
 * the tile had (left by a log rebuilt by hand), a run that completes a tile folds the tile's rows and itself into one
 * row, any other run is appended as a row of its own. Reads only the rows of the tiles completed.
 */
export async function writeTiles(
  q: LogQuery,
  insert: LogInsert,
  t: LogTables,
  nodes: readonly HexNode[],
): Promise<void> {
  const runs = tileRuns(nodes);
  const completing = runs.filter((r) => r.first > 0 && r.first + r.hashes.length === TILE_SLOTS).map((r) => r.id);
  const earlier = completing.length > 0 ? await readTiles(q, t, completing) : new Map<string, string[]>();
  const replaced = [...new Set([...runs.filter((r) => r.first === 0).map((r) => r.id), ...completing])];
  for (let i = 0; i < replaced.length; i += CHUNK) {
    const part = replaced.slice(i, i + CHUNK);
    await q(`DELETE FROM ${t.tiles} WHERE tile_key IN (${placeholders(part.length)})`, part);
  }
  const rows = runs.map((r): [string, number, string] => {
    const before = earlier.get(r.id);
    if (!before || !completing.includes(r.id)) return [r.id, r.first, r.hashes.join("")];
    const whole = Array.from({ length: r.first }, (_, slot) => before[slot] ?? "-".repeat(HEX));
    return [r.id, 0, [...whole, ...r.hashes].join("")];
  });
  await insert(t.tiles, ["tile_key", "first_slot", "hashes"], rows);
}
