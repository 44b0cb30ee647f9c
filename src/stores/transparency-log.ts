// The transparency log's tables and its sequencer step, shared by the SQL backends (DuckDB, Postgres): leaves
// (leaf_index → entry id: a record's context_id or an outcome's outcome_id), complete-subtree hashes by
// "<level>/<index>" (hex), and tiles (tlog-tiles.ts: a read cache of those hashes, grouped so a proof reads a few
// rows), beside the record and outcome tables. Where the backend has a leaf-hash table (DuckDB, schema version 11),
// the level-0 hashes live there, by leaf index, and the nodes table holds the interior subtrees only.
import { leafBytes } from "../tlog/leaves.js";
import { TreeFrontier } from "../tlog/frontier.js";
import { extendTree, leafHash, type NodeKey, nodeId } from "../tlog/merkle.js";
import { FabraError } from "../errors.js";
import { placeholders, readTileHashes, writeTiles } from "./tlog-tiles.js";
import type { LogIndexEntry, LogLeaf } from "./types.js";

/** One query on the connection (or transaction) at hand: `$n` parameters, rows as plain objects. */
export type LogQuery = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

export interface LogTables {
  records: string;
  outcomes: string;
  leaves: string;
  nodes: string;
  /**
   * The leaf hashes (level 0) by leaf_index, with no index of their own: rows appended in leaf order, read by range
   * or by a few indices (DuckDB's per-row-group min/max finds them). Absent: level 0 is in `nodes` (Postgres).
   */
  leafHashes?: string;
  tiles: string;
  checkpoints: string;
}

/** An entry waiting for its leaf: its id and stored text (a record's canonical text, an outcome's canonical JSON). */
export interface PendingEntry {
  id: string;
  text: string;
}

/** Writes the rows of one sequencer step inside its transaction (the backend's fastest bulk insert). */
export type LogInsert = (
  table: string,
  columns: readonly string[],
  rows: readonly (string | number)[][],
) => Promise<void>;

/** Entries integrated per round of the sequencer step (each round is its own transaction). */
export const ROUND = 5000;
const CHUNK = 500;

/** The size of the log: the next leaf index (indices are 0..n-1 with no gaps: the sequencer assigns them so). */
export async function logSize(q: LogQuery, t: LogTables): Promise<number> {
  const rows = await q<{ n: bigint | string | number | null }>(`SELECT max(leaf_index) AS n FROM ${t.leaves}`);
  const max = rows[0]?.n;
  return max === null || max === undefined ? 0 : Number(max) + 1;
}

function missingNode(k: NodeKey): FabraError {
  return new FabraError("VERIFICATION_FAILED", `The transparency log has no stored hash for subtree ${nodeId(k)}`, {
    hint: "The log's tables were altered. Run `fabra ledger verify --since <saved checkpoint>` to see what changed.",
  });
}

/** Stored subtree hashes from the nodes table (what checkpoints, consistency proofs and the sequencer read). */
export async function readNodes(q: LogQuery, t: LogTables, keys: readonly NodeKey[]): Promise<Uint8Array[]> {
  if (keys.length === 0) return [];
  const found = new Map<string, Uint8Array>();
  const inNodes = t.leafHashes ? keys.filter((k) => k.level > 0) : keys;
  if (t.leafHashes) {
    const leaves = [...new Set(keys.filter((k) => k.level === 0).map((k) => k.index))];
    for (let i = 0; i < leaves.length; i += CHUNK) {
      const part = leaves.slice(i, i + CHUNK);
      const rows = await q<{ leaf_index: bigint | string | number; hash: string }>(
        `SELECT leaf_index, hash FROM ${t.leafHashes} WHERE leaf_index IN (${placeholders(part.length)})`,
        part,
      );
      for (const r of rows) found.set(`0/${Number(r.leaf_index)}`, Buffer.from(r.hash, "hex"));
    }
  }
  const ids = [...new Set(inNodes.map(nodeId))];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    const rows = await q<{ node_key: string; hash: string }>(
      `SELECT node_key, hash FROM ${t.nodes} WHERE node_key IN (${placeholders(part.length)})`,
      part,
    );
    for (const r of rows) found.set(r.node_key, Buffer.from(r.hash, "hex"));
  }
  return keys.map((k) => {
    const h = found.get(nodeId(k));
    if (!h) throw missingNode(k);
    return h;
  });
}

/**
 * Stored subtree hashes through the tiles (one query for the few tiles the keys fall in), the nodes table for any a
 * tile lacks. For inclusion proofs: O(log n) hashes in O(log n / 8) rows.
 */
export async function readNodesViaTiles(q: LogQuery, t: LogTables, keys: readonly NodeKey[]): Promise<Uint8Array[]> {
  if (keys.length === 0) return [];
  const out = await readTileHashes(q, t, keys);
  const missing = keys.filter((_, i) => out[i] === null);
  if (missing.length > 0) {
    const fromNodes = await readNodes(q, t, missing);
    let j = 0;
    for (let i = 0; i < out.length; i++) if (out[i] === null) out[i] = fromNodes[j++] as Uint8Array;
  }
  return out as Uint8Array[];
}

/**
 * Entries that have no leaf (records, then outcomes, in (time, id) order), up to `limit`: the catch-up of a
 * sequencer that does not know what was appended before it started. Key columns first (reading every row's text to
 * find the few pending would cost a scan of the whole ledger's bytes), then the texts of those found.
 */
export async function unintegrated(q: LogQuery, t: LogTables, limit = ROUND): Promise<PendingEntry[]> {
  const ids = await q<{ id: string; kind: number | bigint | string }>(
    `SELECT id, kind FROM (
       SELECT r.context_id AS id, r.created_at AS entry_at, 0 AS kind FROM ${t.records} r
         WHERE NOT EXISTS (SELECT 1 FROM ${t.leaves} l WHERE l.context_id = r.context_id)
       UNION ALL
       SELECT o.outcome_id AS id, o.recorded_at AS entry_at, 1 AS kind FROM ${t.outcomes} o
         WHERE NOT EXISTS (SELECT 1 FROM ${t.leaves} l WHERE l.context_id = o.outcome_id)
     ) p ORDER BY entry_at, kind, id LIMIT ${limit}`,
  );
  if (ids.length === 0) return [];
  const texts = new Map<string, string>();
  for (const [table, column, kind] of [
    [t.records, "context_id", 0],
    [t.outcomes, "outcome_id", 1],
  ] as const) {
    const wanted = ids.filter((r) => Number(r.kind) === kind).map((r) => r.id);
    for (let i = 0; i < wanted.length; i += CHUNK) {
      const part = wanted.slice(i, i + CHUNK);
      const rows = await q<{ id: string; text: string }>(
        `SELECT ${column} AS id, canonical_text AS text FROM ${table} WHERE ${column} IN (${placeholders(part.length)})`,
        part,
      );
      for (const r of rows) texts.set(r.id, r.text);
    }
  }
  return ids.flatMap((r) => {
    const text = texts.get(r.id);
    return text === undefined ? [] : [{ id: r.id, text }];
  });
}

/** The log's size and frontier as stored (the sequencer's starting point when it has none in memory). */
export async function loadFrontier(q: LogQuery, t: LogTables): Promise<TreeFrontier> {
  const size = await logSize(q, t);
  // Leaf hashes above the size are what a log rebuilt by hand left (its leaf rows deleted): the leaves integrated
  // next take those indices, as they take the tiles' slots. (Nothing else writes there: a round is one transaction.)
  if (t.leafHashes) await q(`DELETE FROM ${t.leafHashes} WHERE leaf_index >= $1`, [size]);
  return TreeFrontier.of(size, await readNodes(q, t, TreeFrontier.keys(size)));
}

/**
 * Gives `entries` the leaf indices `from.size`, `from.size + 1`, … inside the caller's transaction, after the caller
 * took the log's lock: their leaf hashes, every subtree that became complete (from the frontier: no stored node is
 * read) and the tiles those fall in. Returns the new frontier (valid once the transaction commits).
 */
export async function integrateEntries(
  q: LogQuery,
  insert: LogInsert,
  t: LogTables,
  from: TreeFrontier,
  entries: readonly PendingEntry[],
): Promise<TreeFrontier> {
  if (entries.length === 0) return from;
  const size = from.size;
  const leaves = entries.map((e) => leafHash(leafBytes(e.id, e.text)));
  const nodes = await extendTree(size, leaves, from.read);
  await insert(
    t.leaves,
    ["leaf_index", "context_id"],
    entries.map((e, i) => [size + i, e.id]),
  );
  const hex = nodes.map((n) => ({ key: n.key, hex: hexOf(n.hash) }));
  // extendTree lists the leaves first, then the interior nodes
  const interior = t.leafHashes ? hex.slice(entries.length) : hex;
  if (t.leafHashes)
    await insert(
      t.leafHashes,
      ["leaf_index", "hash"],
      hex.slice(0, entries.length).map((n, i) => [size + i, n.hex]),
    );
  await insert(
    t.nodes,
    ["node_key", "hash"],
    interior.map((n) => [nodeId(n.key), n.hex]),
  );
  await writeTiles(q, insert, t, hex);
  return from.advance(size + entries.length, nodes);
}

/** A hash in hex, without copying it first when it is a Buffer already (as the Merkle code's are). */
const hexOf = (h: Uint8Array): string =>
  (Buffer.isBuffer(h) ? h : Buffer.from(h.buffer, h.byteOffset, h.byteLength)).toString("hex");

/** A multi-row INSERT with bound parameters, in chunks (the generic LogInsert). */
export function valuesInsert(q: LogQuery): LogInsert {
  return async (table, columns, rows) => {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const part = rows.slice(i, i + CHUNK);
      const width = columns.length;
      await q(
        `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${part
          .map((_, j) => `(${placeholders(width, j * width + 1)})`)
          .join(", ")}`,
        part.flat(),
      );
    }
  };
}

/** The ids of `entries` that already have a leaf (the rare case of an entry queued twice). */
export async function alreadyIntegrated(q: LogQuery, t: LogTables, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    for (const r of await q<{ context_id: string }>(
      `SELECT context_id FROM ${t.leaves} WHERE context_id IN (${placeholders(part.length)})`,
      part,
    ))
      found.add(r.context_id);
  }
  return found;
}

export async function leafIndexOf(q: LogQuery, t: LogTables, id: string): Promise<number | null> {
  const rows = await q<{ leaf_index: bigint | string | number }>(
    `SELECT leaf_index FROM ${t.leaves} WHERE context_id = $1`,
    [id],
  );
  return rows[0] ? Number(rows[0].leaf_index) : null;
}

/** The join that gives a leaf row `l` its stored leaf hash as `n.hash` (in a query over leaf indices [$1, $2)). */
const leafHashJoin = (t: LogTables): string =>
  t.leafHashes
    ? // the range again on the hash table's side: its scan then reads only the row groups of the batch
      `LEFT JOIN ${t.leafHashes} n ON n.leaf_index = l.leaf_index AND n.leaf_index >= $1 AND n.leaf_index < $2`
    : `LEFT JOIN ${t.nodes} n ON n.node_key = '0/' || CAST(l.leaf_index AS VARCHAR)`;

/** Every leaf in index order, `batchSize` at a time, with its stored hash and the entry's leaf bytes now. */
export async function* scanLeaves(q: LogQuery, t: LogTables, batchSize = 1000): AsyncIterable<LogLeaf[]> {
  for (let from = 0; ; from += batchSize) {
    const rows = await q<{
      leaf_index: bigint | string | number;
      context_id: string;
      hash: string | null;
      text: string | null;
    }>(
      `SELECT l.leaf_index, l.context_id, n.hash, coalesce(r.canonical_text, o.canonical_text) AS text FROM ${t.leaves} l
       ${leafHashJoin(t)}
       LEFT JOIN ${t.records} r ON r.context_id = l.context_id
       LEFT JOIN ${t.outcomes} o ON o.outcome_id = l.context_id
       WHERE l.leaf_index >= $1 AND l.leaf_index < $2 ORDER BY l.leaf_index`,
      [from, from + batchSize],
    );
    if (rows.length === 0) return;
    yield rows.map((r) => ({
      index: Number(r.leaf_index),
      contextId: r.context_id,
      leafHash: r.hash === null ? new Uint8Array(0) : Buffer.from(r.hash, "hex"),
      canonicalBytes: r.text === null ? null : leafBytes(r.context_id, r.text),
    }));
    if (rows.length < batchSize) return;
  }
}

/** Every leaf's index, id and stored leaf hash, in index order (no entry bytes: `ledger verify` reads those once). */
export async function* scanIndex(q: LogQuery, t: LogTables, batchSize = 250_000): AsyncIterable<LogIndexEntry[]> {
  const size = await logSize(q, t);
  // By index range up to the largest index, so leaves deleted from the table (tampering) leave a gap, not an end.
  for (let from = 0; from < size; from += batchSize) {
    const rows = await q<{ leaf_index: bigint | string | number; context_id: string; hash: string | null }>(
      `SELECT l.leaf_index, l.context_id, n.hash FROM ${t.leaves} l
       ${leafHashJoin(t)}
       WHERE l.leaf_index >= $1 AND l.leaf_index < $2 ORDER BY l.leaf_index`,
      [from, from + batchSize],
    );
    if (rows.length > 0)
      yield rows.map((r) => ({
        index: Number(r.leaf_index),
        id: r.context_id,
        leafHash: r.hash === null ? null : Buffer.from(r.hash, "hex"),
      }));
  }
}

/** Keeps a checkpoint fabra signed (the first one of each size; later ones of that size are the same head). */
export async function saveCheckpoint(q: LogQuery, t: LogTables, size: number, note: string): Promise<void> {
  await q(`INSERT INTO ${t.checkpoints} (tree_size, note) VALUES ($1, $2) ON CONFLICT (tree_size) DO NOTHING`, [
    size,
    note,
  ]);
}

/** The checkpoints fabra signed, smallest first. */
export async function listCheckpoints(q: LogQuery, t: LogTables): Promise<{ size: number; note: string }[]> {
  const rows = await q<{ tree_size: bigint | string | number; note: string }>(
    `SELECT tree_size, note FROM ${t.checkpoints} ORDER BY tree_size`,
  );
  return rows.map((r) => ({ size: Number(r.tree_size), note: r.note }));
}
