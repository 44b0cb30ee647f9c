// Migration 1: the Context Record ledger. The record's exact canonical text is the source of every hash;
// the other columns are copies for lookups. Triggers make the table append-only inside the database too.
import type { Migration } from "./types.js";

export const ledger: Migration = {
  version: 1,
  name: "context record ledger",
  up: [
    `CREATE TABLE {{schema}}.fabra_context_records (
       context_id text PRIMARY KEY,
       created_at timestamptz NOT NULL,
       context_function text NOT NULL,
       environment text NOT NULL,
       token_count bigint NOT NULL,
       record_hash text NOT NULL,
       previous_context_id text,
       canonical_text text NOT NULL
     )`,
    "CREATE INDEX fabra_context_records_created_at ON {{schema}}.fabra_context_records (created_at, context_id)",
    "CREATE INDEX fabra_context_records_function ON {{schema}}.fabra_context_records (context_function, created_at)",
    "CREATE INDEX fabra_context_records_hash ON {{schema}}.fabra_context_records (record_hash)",
    `CREATE FUNCTION {{schema}}.fabra_reject_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       RAISE EXCEPTION 'fabra_context_records is append-only: % is not allowed', TG_OP
         USING ERRCODE = 'FB001', HINT = 'Context Records are immutable; append a new record instead.';
     END
     $$`,
    `CREATE TRIGGER fabra_context_records_append_only BEFORE UPDATE OR DELETE ON {{schema}}.fabra_context_records
       FOR EACH ROW EXECUTE FUNCTION {{schema}}.fabra_reject_ledger_change()`,
    `CREATE TRIGGER fabra_context_records_no_truncate BEFORE TRUNCATE ON {{schema}}.fabra_context_records
       FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.fabra_reject_ledger_change()`,
  ],
};
