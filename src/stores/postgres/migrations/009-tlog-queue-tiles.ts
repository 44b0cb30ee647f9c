// Migration 9: the transparency log's queue and tiles (TLOG-001 §2). Each record and outcome entry inserted is queued
// for the sequencer by a trigger in the same transaction (appenders only insert a small row: they never wait on the
// sequencer or on each other), so a step reads only the queue, never the whole ledger; the step deletes what it
// integrated. Everything not yet in the log when this runs is queued, records then outcomes in (time, id) order. Tiles
// are a read cache of the subtree hashes (a proof reads a few rows), filled from the stored ones. The checkpoints fabra
// signs are kept (append-only) so `ledger verify` can bracket a change hidden by a rebuilt log between two of them.
import type { Migration } from "./types.js";

const enqueue = (fn: string, column: string, table: string): string[] => [
  `CREATE FUNCTION {{schema}}.${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO {{schema}}.fabra_tlog_queue (entry_id) VALUES (NEW.${column});
     RETURN NULL;
   END
   $$`,
  `CREATE TRIGGER ${table}_tlog_queue AFTER INSERT ON {{schema}}.${table}
     FOR EACH ROW EXECUTE FUNCTION {{schema}}.${fn}()`,
];

export const tlogQueueTiles: Migration = {
  version: 9,
  name: "transparency log queue, tiles and signed checkpoints",
  up: [
    `CREATE TABLE {{schema}}.fabra_tlog_queue (
       queued bigserial PRIMARY KEY,
       entry_id text NOT NULL
     )`,
    ...enqueue("fabra_tlog_queue_record", "context_id", "fabra_context_records"),
    ...enqueue("fabra_tlog_queue_outcome", "outcome_id", "fabra_outcomes"),
    `INSERT INTO {{schema}}.fabra_tlog_queue (entry_id)
       SELECT id FROM (
         SELECT r.context_id AS id, r.created_at AS entry_at, 0 AS kind FROM {{schema}}.fabra_context_records r
           WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.fabra_tlog_leaves l WHERE l.context_id = r.context_id)
         UNION ALL
         SELECT o.outcome_id, o.recorded_at, 1 FROM {{schema}}.fabra_outcomes o
           WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.fabra_tlog_leaves l WHERE l.context_id = o.outcome_id)
       ) p ORDER BY entry_at, kind, id`,
    `CREATE TABLE {{schema}}.fabra_tlog_tiles (
       tile_key text PRIMARY KEY,
       hashes text NOT NULL
     )`,
    `INSERT INTO {{schema}}.fabra_tlog_tiles (tile_key, hashes)
       SELECT tile_key, string_agg(node_key || '=' || hash, ',') FROM (
         SELECT node_key, hash,
           CAST((CAST(split_part(node_key, '/', 1) AS INTEGER) >> 3) AS VARCHAR) || '/' ||
           CAST((CAST(split_part(node_key, '/', 2) AS BIGINT) >> (8 - (CAST(split_part(node_key, '/', 1) AS INTEGER) & 7))) AS VARCHAR) AS tile_key
         FROM {{schema}}.fabra_tlog_nodes) n
       GROUP BY tile_key`,
    `CREATE TABLE {{schema}}.fabra_tlog_checkpoints (
       tree_size bigint PRIMARY KEY,
       note text NOT NULL
     )`,
    `CREATE TRIGGER fabra_tlog_checkpoints_append_only BEFORE UPDATE OR DELETE ON {{schema}}.fabra_tlog_checkpoints
       FOR EACH ROW EXECUTE FUNCTION {{schema}}.fabra_reject_ledger_change()`,
    `CREATE TRIGGER fabra_tlog_checkpoints_no_truncate BEFORE TRUNCATE ON {{schema}}.fabra_tlog_checkpoints
       FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.fabra_reject_ledger_change()`,
  ],
};
