// Migration 7: outcome entries — a model call's answer linked to a record by context_id, kept beside the records
// (never in them). Append-only in the database too, like the ledger.
import type { Migration } from "./types.js";

export const outcomes: Migration = {
  version: 7,
  name: "outcome entries",
  up: [
    `CREATE TABLE {{schema}}.fabra_outcomes (
       outcome_id text PRIMARY KEY,
       context_id text NOT NULL,
       recorded_at timestamptz NOT NULL,
       entry_hash text NOT NULL,
       canonical_text text NOT NULL
     )`,
    "CREATE INDEX fabra_outcomes_context ON {{schema}}.fabra_outcomes (context_id, recorded_at)",
    `CREATE FUNCTION {{schema}}.fabra_reject_outcome_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       RAISE EXCEPTION 'fabra_outcomes is append-only: % is not allowed', TG_OP
         USING ERRCODE = 'FB001', HINT = 'Outcome entries are immutable; append a new one instead.';
     END
     $$`,
    `CREATE TRIGGER fabra_outcomes_append_only BEFORE UPDATE OR DELETE ON {{schema}}.fabra_outcomes
       FOR EACH ROW EXECUTE FUNCTION {{schema}}.fabra_reject_outcome_change()`,
    `CREATE TRIGGER fabra_outcomes_no_truncate BEFORE TRUNCATE ON {{schema}}.fabra_outcomes
       FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.fabra_reject_outcome_change()`,
  ],
};
