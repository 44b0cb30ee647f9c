// Migration 8: run generations. Each resume of a materialization run raises its attempt; endRun names the attempt
// it ends, so a stale worker (paused past its lock's TTL) cannot end a run another worker resumed or finished.
import type { Migration } from "./types.js";

export const runAttempts: Migration = {
  version: 8,
  name: "materialization run attempts",
  up: ["ALTER TABLE {{schema}}.fabra_materialize_runs ADD COLUMN attempt integer NOT NULL DEFAULT 1"],
};
