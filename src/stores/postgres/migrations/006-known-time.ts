// Migration 6: history keeps when each value was known (known_at) beside its event time (computed_at); rows written
// before were known when they were computed. The point-in-time index orders ties by known_at, then run_id.
import type { Migration } from "./types.js";

export const knownTime: Migration = {
  version: 6,
  name: "feature history known time",
  up: [
    "ALTER TABLE {{schema}}.fabra_feature_values ADD COLUMN known_at timestamptz",
    "UPDATE {{schema}}.fabra_feature_values SET known_at = computed_at",
    "ALTER TABLE {{schema}}.fabra_feature_values ALTER COLUMN known_at SET NOT NULL",
    "CREATE INDEX fabra_feature_values_pit_known ON {{schema}}.fabra_feature_values (feature, entity_id, computed_at, known_at, run_id)",
    "DROP INDEX {{schema}}.fabra_feature_values_pit",
  ],
};
