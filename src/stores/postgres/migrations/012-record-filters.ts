// Migration 12: the `context list` filters on what records hold (inputs, feature values, freshness, drops) run in
// the database. `fabra_record_json` reads a row's canonical text as jsonb (NULL for text that is not JSON, so a
// damaged row breaks no query and no insert); GIN indexes over its `inputs` and `features` answer containment
// (`@>`) lookups such as "which contexts used userTier=enterprise" without reading every record. Replays are
// found by previous_context_id.
import type { Migration } from "./types.js";

export const recordFilters: Migration = {
  version: 12,
  name: "record filters",
  up: [
    `CREATE FUNCTION {{schema}}.fabra_record_json(record_text text) RETURNS jsonb
       LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
     BEGIN
       RETURN record_text::jsonb;
     EXCEPTION WHEN others THEN
       RETURN NULL;
     END
     $$`,
    `CREATE INDEX fabra_context_records_features ON {{schema}}.fabra_context_records
       USING gin (({{schema}}.fabra_record_json(canonical_text) -> 'features') jsonb_path_ops)`,
    `CREATE INDEX fabra_context_records_inputs ON {{schema}}.fabra_context_records
       USING gin (({{schema}}.fabra_record_json(canonical_text) -> 'inputs') jsonb_path_ops)`,
    `CREATE INDEX fabra_context_records_previous ON {{schema}}.fabra_context_records (previous_context_id)
       WHERE previous_context_id IS NOT NULL`,
  ],
};
