// Migration 3: offline feature history and materialization runs. Key columns use the "C" collation, so equality and
// order are byte order, as on every backend (the point-in-time tie rule compares run ids bytewise). The
// (feature, entity_id, computed_at, run_id) index answers each point-in-time lookup with one backward index probe;
// (feature, run_id, entity_id) lists what a run wrote when it is resumed. At most one unfinished run per feature.
import type { Migration } from "./types.js";

export const featureHistory: Migration = {
  version: 3,
  name: "feature history and materialization runs",
  up: [
    `CREATE TABLE {{schema}}.fabra_feature_values (
       feature text COLLATE "C" NOT NULL,
       entity_id text COLLATE "C" NOT NULL,
       value_json text NOT NULL,
       computed_at timestamptz NOT NULL,
       run_id text COLLATE "C" NOT NULL,
       PRIMARY KEY (feature, entity_id, run_id)
     )`,
    "CREATE INDEX fabra_feature_values_pit ON {{schema}}.fabra_feature_values (feature, entity_id, computed_at, run_id)",
    "CREATE INDEX fabra_feature_values_run ON {{schema}}.fabra_feature_values (feature, run_id, entity_id)",
    `CREATE TABLE {{schema}}.fabra_materialize_runs (
       run_id text COLLATE "C" PRIMARY KEY,
       feature text COLLATE "C" NOT NULL,
       trigger text NOT NULL CHECK (trigger IN ('manual', 'schedule')),
       status text NOT NULL CHECK (status IN ('running', 'interrupted', 'succeeded', 'partial')),
       started_at timestamptz NOT NULL,
       finished_at timestamptz,
       entities_written bigint NOT NULL DEFAULT 0,
       entities_failed bigint NOT NULL DEFAULT 0,
       error text
     )`,
    "CREATE INDEX fabra_materialize_runs_latest ON {{schema}}.fabra_materialize_runs (feature, started_at, run_id)",
    `CREATE UNIQUE INDEX fabra_materialize_runs_unfinished ON {{schema}}.fabra_materialize_runs (feature)
       WHERE status IN ('running', 'interrupted')`,
  ],
};
