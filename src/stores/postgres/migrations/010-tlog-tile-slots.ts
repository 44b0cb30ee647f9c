// Migration 10: the transparency log's tiles by slot (TLOG-001 §2, tlog-tiles.ts): rows of consecutive slots of a
// tile, so a sequencer step only appends tile rows (no UPDATE of a long text) and a proof reads each hash at its slot.
// The tiles are a cache: rebuilt from the stored subtree hashes.
import { tileBackfillSql } from "../../tlog-tiles.js";
import type { Migration } from "./types.js";

export const tlogTileSlots: Migration = {
  version: 10,
  name: "transparency log tiles by slot",
  up: [
    "DROP TABLE {{schema}}.fabra_tlog_tiles",
    `CREATE TABLE {{schema}}.fabra_tlog_tiles (
       tile_key text NOT NULL,
       first_slot bigint NOT NULL,
       hashes text NOT NULL
     )`,
    "CREATE INDEX fabra_tlog_tiles_key ON {{schema}}.fabra_tlog_tiles (tile_key)",
    tileBackfillSql({ nodes: "{{schema}}.fabra_tlog_nodes", tiles: "{{schema}}.fabra_tlog_tiles" }),
  ],
};
