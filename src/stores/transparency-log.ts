// The transparency log's tables and its sequencer step, shared by the SQL backends (DuckDB, Postgres): leaves
// (leaf_index → context_id) and complete-subtree hashes by "<level>/<index>" (hex), beside the record table.
import { extendTree, leafHash, type NodeKey, nodeId } from "../tlog/merkle.js";
import { FabraError } from "../errors.js";
import type { LogLeaf } from "./types.js";

/** One query on the connection (or transaction) at hand: `$n` parameters, rows as plain objects. */
export type LogQuery = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

export interface LogTables {
  records: string;
  leaves: string;
  nodes: string;
}

/** Records integrated per round of the sequencer step (each round is its own transaction). */
const ROUND = 5000;
const INSERT_CHUNK = 500;

/** The size of the log: leaf indices are 0..n-1 with no gaps (the sequencer assigns them so). */
export async function logSize(q: LogQuery, t: LogTables): Promise<number> {
  const rows = await q<{ n: bigint | string | number }>(`SELECT count(*) AS n FROM ${t.leaves}`);
  return Number(rows[0]?.n ?? 0);
}

export async function readNodes(q: LogQuery, t: LogTables, keys: readonly NodeKey[]): Promise<Uint8Array[]> {
  if (keys.length === 0) return [];
  const ids = [...new Set(keys.map(nodeId))];
  const found = new Map<string, Uint8Array>();
  for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
    const part = ids.slice(i, i + INSERT_CHUNK);
    const rows = await q<{ node_key: string; hash: string }>(
      `SELECT node_key, hash FROM ${t.nodes} WHERE node_key IN (${part.map((_, j) => `$${j + 1}`).join(", ")})`,
      part,
    );
    for (const r of rows) found.set(r.node_key, Buffer.from(r.hash, "hex"));
  }
  return keys.map((k) => {
    const h = found.get(nodeId(k));
    if (!h)
      throw new FabraError("VERIFICATION_FAILED", `The transparency log has no stored hash for subtree ${nodeId(k)}`, {
        hint: "The log's tables were altered. Run `fabra ledger verify --since <saved checkpoint>` to see what changed.",
      });
    return h;
  });
}

/**
 * One round of the sequencer step inside the caller's transaction, after the caller took the log's lock: the next
 * pending records get the next indices. Returns how many were integrated (0 = none pending).
 */
export async function integrateRound(q: LogQuery, t: LogTables): Promise<number> {
  const size = await logSize(q, t);
  // The pending ids first (key columns only: reading every row's text to find the few pending would cost a scan of
  // the whole ledger's bytes per step), then their bytes.
  const ids = await q<{ context_id: string }>(
    `SELECT r.context_id FROM ${t.records} r
     WHERE NOT EXISTS (SELECT 1 FROM ${t.leaves} l WHERE l.context_id = r.context_id)
     ORDER BY r.created_at, r.context_id LIMIT ${ROUND}`,
  );
  if (ids.length === 0) return 0;
  const texts = new Map<string, string>();
  for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
    const part = ids.slice(i, i + INSERT_CHUNK).map((r) => r.context_id);
    const rows = await q<{ context_id: string; canonical_text: string }>(
      `SELECT context_id, canonical_text FROM ${t.records} WHERE context_id IN (${part.map((_, j) => `$${j + 1}`).join(", ")})`,
      part,
    );
    for (const r of rows) texts.set(r.context_id, r.canonical_text);
  }
  const pending = ids.map((r) => ({ context_id: r.context_id, canonical_text: texts.get(r.context_id) as string }));
  const leaves = pending.map((p) => leafHash(Buffer.from(p.canonical_text, "utf8")));
  const nodes = await extendTree(size, leaves, (keys) => readNodes(q, t, keys));
  for (let i = 0; i < pending.length; i += INSERT_CHUNK) {
    const part = pending.slice(i, i + INSERT_CHUNK);
    await q(
      `INSERT INTO ${t.leaves} (leaf_index, context_id) VALUES ${part.map((_, j) => `($${2 * j + 1}, $${2 * j + 2})`).join(", ")}`,
      part.flatMap((p, j) => [size + i + j, p.context_id]),
    );
  }
  for (let i = 0; i < nodes.length; i += INSERT_CHUNK) {
    const part = nodes.slice(i, i + INSERT_CHUNK);
    await q(
      `INSERT INTO ${t.nodes} (node_key, hash) VALUES ${part.map((_, j) => `($${2 * j + 1}, $${2 * j + 2})`).join(", ")}`,
      part.flatMap((n) => [nodeId(n.key), Buffer.from(n.hash).toString("hex")]),
    );
  }
  return pending.length;
}

export async function leafIndexOf(q: LogQuery, t: LogTables, contextId: string): Promise<number | null> {
  const rows = await q<{ leaf_index: bigint | string | number }>(
    `SELECT leaf_index FROM ${t.leaves} WHERE context_id = $1`,
    [contextId],
  );
  return rows[0] ? Number(rows[0].leaf_index) : null;
}

/** Every leaf in index order, `batchSize` at a time, with its stored hash and the record's bytes now. */
export async function* scanLeaves(q: LogQuery, t: LogTables, batchSize = 1000): AsyncIterable<LogLeaf[]> {
  for (let from = 0; ; from += batchSize) {
    const rows = await q<{
      leaf_index: bigint | string | number;
      context_id: string;
      hash: string | null;
      canonical_text: string | null;
    }>(
      `SELECT l.leaf_index, l.context_id, n.hash, r.canonical_text FROM ${t.leaves} l
       LEFT JOIN ${t.nodes} n ON n.node_key = '0/' || CAST(l.leaf_index AS VARCHAR)
       LEFT JOIN ${t.records} r ON r.context_id = l.context_id
       WHERE l.leaf_index >= $1 AND l.leaf_index < $2 ORDER BY l.leaf_index`,
      [from, from + batchSize],
    );
    if (rows.length === 0) return;
    yield rows.map((r) => ({
      index: Number(r.leaf_index),
      contextId: r.context_id,
      leafHash: r.hash === null ? new Uint8Array(0) : Buffer.from(r.hash, "hex"),
      canonicalBytes: r.canonical_text === null ? null : Buffer.from(r.canonical_text, "utf8"),
    }));
    if (rows.length < batchSize) return;
  }
}
