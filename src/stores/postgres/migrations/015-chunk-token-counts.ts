// Migration 15: a chunk's o200k_base token count beside its cl100k_base one (token_count), counted at index time
// for projects whose contexts use an o200k model; NULL on chunks indexed before (assembly counts those itself).
import type { Migration } from "./types.js";

export const chunkTokenCounts: Migration = {
  version: 15,
  name: "chunk token counts per encoding",
  up: ["ALTER TABLE {{schema}}.fabra_chunks ADD COLUMN token_count_o200k integer"],
};
