// Migration 5: records brought in by `fabra context import` are marked in the ledger (a column, never a record field),
// so they never pass for records this deployment produced. Adding a column with a default fires no row trigger.
import type { Migration } from "./types.js";

export const importedRecords: Migration = {
  version: 5,
  name: "imported records",
  up: ["ALTER TABLE {{schema}}.fabra_context_records ADD COLUMN imported boolean NOT NULL DEFAULT false"],
};
