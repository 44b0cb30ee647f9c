// Migration 4: the transparency log beside the ledger (TLOG-001): leaf indices and complete-subtree hashes, both
// append-only in the database too (the same trigger function as the ledger refuses UPDATE, DELETE and TRUNCATE).
import type { Migration } from "./types.js";

const appendOnly = (table: string): string[] => [
  `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON {{schema}}.${table}
     FOR EACH ROW EXECUTE FUNCTION {{schema}}.fabra_reject_ledger_change()`,
  `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON {{schema}}.${table}
     FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.fabra_reject_ledger_change()`,
];

export const transparencyLog: Migration = {
  version: 4,
  name: "transparency log",
  up: [
    `CREATE TABLE {{schema}}.fabra_tlog_leaves (
       leaf_index bigint PRIMARY KEY,
       context_id text NOT NULL UNIQUE
     )`,
    `CREATE TABLE {{schema}}.fabra_tlog_nodes (
       node_key text PRIMARY KEY,
       hash text NOT NULL
     )`,
    ...appendOnly("fabra_tlog_leaves"),
    ...appendOnly("fabra_tlog_nodes"),
  ],
};
