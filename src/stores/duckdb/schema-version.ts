// The schema version of a local DuckDB file, kept in its `fabra_meta` table: a file written by a newer fabra is
// refused before anything touches it; an older one (no fabra_meta = a file from before versions) is upgraded in place.
import type { DuckDBConnection } from "@duckdb/node-api";
import { FabraError } from "../../errors.js";
import { fabraVersion } from "../../util/version.js";
import { tileBackfillSql } from "../tlog-tiles.js";

/** The layout this fabra writes. Raise it with an entry in UPGRADES whenever a table or index changes. */
export const DUCKDB_SCHEMA_VERSION = 11;

interface Upgrade {
  /** The version a file has after these statements ran. */
  to: number;
  statements: readonly string[];
}

/**
 * The transparency log's tiles (TLOG-001 §2, schema versions 7 and 10; tlog-tiles.ts): a read cache of the subtree
 * hashes for proofs, rows of consecutive slots of a tile. Not unique by tile (steps only append rows, and drop a
 * tile's rows when it completes); indexed by tile, which a proof's IN list uses (without it DuckDB scans every
 * tile's text: ~50 ms at 1,000,000 leaves instead of ~2).
 */
export const TILES_TABLE =
  "CREATE TABLE IF NOT EXISTS fabra_tlog_tiles (tile_key VARCHAR NOT NULL, first_slot BIGINT NOT NULL, hashes VARCHAR NOT NULL)";
const TILES_INDEX = "CREATE INDEX IF NOT EXISTS fabra_tlog_tiles_key ON fabra_tlog_tiles (tile_key)";

/**
 * The leaf hashes (TLOG-001 §2, schema version 11): level 0 of the tree by leaf index, beside the interior subtrees
 * in fabra_tlog_nodes. No index: rows are appended in leaf order and read by range (`ledger verify`) or by the one
 * or two indices a tree head needs (DuckDB's min/max per row group finds them); a per-row index here cost a step
 * as much as its nodes did.
 */
export const LEAF_HASHES_TABLE =
  "CREATE TABLE IF NOT EXISTS fabra_tlog_leaf_hashes (leaf_index BIGINT NOT NULL, hash VARCHAR NOT NULL)";

/** The checkpoints fabra signed (schema version 7): `ledger verify` brackets a rebuilt log's change between them. */
export const CHECKPOINTS_TABLE =
  "CREATE TABLE IF NOT EXISTS fabra_tlog_checkpoints (tree_size BIGINT PRIMARY KEY, note VARCHAR NOT NULL)";

/** Outcome entries (schema version 5): append-only like the records, looked up by context_id. */
export const OUTCOMES_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS fabra_outcomes (
     outcome_id VARCHAR PRIMARY KEY,
     context_id VARCHAR NOT NULL,
     recorded_at TIMESTAMP NOT NULL,
     entry_hash VARCHAR NOT NULL,
     canonical_text VARCHAR NOT NULL
   )`,
  "CREATE INDEX IF NOT EXISTS fabra_outcomes_context ON fabra_outcomes (context_id)",
];

/**
 * Steps from each older version, applied in order in one transaction. Version 1 is the layout of the files written
 * before fabra_meta existed: its tables are created by the stores themselves (CREATE ... IF NOT EXISTS), so an
 * unversioned file only needs its version stamped.
 */
const UPGRADES: readonly Upgrade[] = [
  { to: 1, statements: [] },
  // Version 2: the transparency log beside the ledger (TLOG-001); existing records are integrated on first use.
  {
    to: 2,
    statements: [
      "CREATE TABLE IF NOT EXISTS fabra_tlog_leaves (leaf_index BIGINT PRIMARY KEY, context_id VARCHAR NOT NULL UNIQUE)",
      "CREATE TABLE IF NOT EXISTS fabra_tlog_nodes (node_key VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL)",
    ],
  },
  {
    // Records brought in by `fabra context import` are marked as such (DuckDB adds no NOT NULL column; absent = false).
    to: 3,
    statements: ["ALTER TABLE IF EXISTS fabra_context_records ADD COLUMN IF NOT EXISTS imported BOOLEAN DEFAULT false"],
  },
  {
    // Version 4: history keeps when each value was known (known_at) beside its event time (computed_at); values
    // written before were known when they were computed. The table is created first (in its version 1 layout) on a
    // file without history, so the statements hold on every file. The column stays nullable on upgraded files
    // (DuckDB cannot add the constraint in the transaction that filled it); every writer sets it.
    to: 4,
    statements: [
      `CREATE TABLE IF NOT EXISTS fabra_feature_values (
         feature VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, value_json VARCHAR NOT NULL,
         computed_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL, PRIMARY KEY (feature, entity_id, run_id)
       )`,
      "ALTER TABLE fabra_feature_values ADD COLUMN IF NOT EXISTS known_at TIMESTAMP",
      "UPDATE fabra_feature_values SET known_at = computed_at WHERE known_at IS NULL",
    ],
  },
  // 5: outcome entries (a model call's answer linked to a record), append-only beside the records.
  {
    to: 5,
    statements: OUTCOMES_SCHEMA,
  },
  // Run generations (the fence of endRun). IF EXISTS: a new file's tables are created by the stores after this.
  {
    to: 6,
    statements: ["ALTER TABLE IF EXISTS fabra_materialize_runs ADD COLUMN IF NOT EXISTS attempt INTEGER DEFAULT 1"],
  },
  // 7: the transparency log's tiles (filled by version 10) and the checkpoints it signed.
  {
    to: 7,
    statements: [TILES_TABLE, CHECKPOINTS_TABLE],
  },
  // 8: a chunk's o200k_base token count beside its cl100k_base one (NULL: not counted at index time).
  {
    to: 8,
    statements: ["ALTER TABLE IF EXISTS fabra_chunks ADD COLUMN IF NOT EXISTS token_count_o200k INTEGER"],
  },
  // 9: a chunk carries the hash of the document it was made from (text + chunking + embedder), so `index add`
  // skips an unchanged document. Last column, as in vector-chunks.ts (its appender fills the columns in order).
  {
    to: 9,
    statements: ["ALTER TABLE IF EXISTS fabra_chunks ADD COLUMN IF NOT EXISTS document_hash VARCHAR"],
  },
  // 10: the tiles by slot (TLOG-001 §2), rebuilt from the subtree hashes already stored (the nodes table exists
  // since 2): a sequencer step only appends tile rows, a proof reads each hash at its slot.
  {
    to: 10,
    statements: [
      "DROP TABLE IF EXISTS fabra_tlog_tiles",
      TILES_TABLE,
      tileBackfillSql({ nodes: "fabra_tlog_nodes", tiles: "fabra_tlog_tiles" }),
      TILES_INDEX,
    ],
  },
  // 11: the leaf hashes out of the nodes table (and its primary-key index) into a table of their own, in leaf order.
  {
    to: 11,
    statements: [
      LEAF_HASHES_TABLE,
      `INSERT INTO fabra_tlog_leaf_hashes (leaf_index, hash)
         SELECT CAST(split_part(node_key, '/', 2) AS BIGINT) AS leaf_index, hash FROM fabra_tlog_nodes
         WHERE starts_with(node_key, '0/') ORDER BY leaf_index`,
      "DELETE FROM fabra_tlog_nodes WHERE starts_with(node_key, '0/')",
    ],
  },
];

const META = "CREATE TABLE IF NOT EXISTS fabra_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)";

/** Checks (and if older, upgrades) the file behind `c`; throws MIGRATION_FAILED for a file from a newer fabra. */
export async function ensureSchemaVersion(c: DuckDBConnection, path: string): Promise<void> {
  await c.run("BEGIN TRANSACTION");
  try {
    await c.run(META);
    const meta = new Map(
      (
        (await c.runAndReadAll("SELECT key, value FROM fabra_meta")).getRowObjectsJS() as {
          key: string;
          value: string;
        }[]
      ).map((r) => [r.key, r.value]),
    );
    const found = meta.has("schema_version") ? Number(meta.get("schema_version")) : 0;
    if (!Number.isInteger(found) || found > DUCKDB_SCHEMA_VERSION)
      throw tooNew(path, meta.get("schema_version") ?? "", meta.get("fabra_version"));
    if (found < DUCKDB_SCHEMA_VERSION) {
      for (const upgrade of UPGRADES) if (upgrade.to > found) for (const sql of upgrade.statements) await c.run(sql);
      const stamp = "INSERT OR REPLACE INTO fabra_meta VALUES ($1, $2)";
      await c.run(stamp, ["schema_version", String(DUCKDB_SCHEMA_VERSION)]);
      await c.run(stamp, ["fabra_version", fabraVersion()]);
    }
    await c.run("COMMIT");
  } catch (err) {
    await c.run("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

function tooNew(path: string, found: string, writtenBy: string | undefined): FabraError {
  return new FabraError(
    "MIGRATION_FAILED",
    `The DuckDB file ${path} has fabra schema version ${found}${writtenBy ? ` (written by fabra ${writtenBy})` : ""}; this fabra (${fabraVersion()}) reads up to version ${DUCKDB_SCHEMA_VERSION}`,
    {
      hint: `Use fabra ${writtenBy ?? "of the version that wrote it"} or newer with this file, or point FABRA_DUCKDB_PATH (or stores.offline.path) at another file. The file was left as it is.`,
      details: { path, schemaVersion: found, supported: DUCKDB_SCHEMA_VERSION },
    },
  );
}
