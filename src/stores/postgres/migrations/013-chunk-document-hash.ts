// Migration 13: each chunk carries the hash of the document it was made from (its text with the chunking and
// embedder settings), so `fabra index add` skips a document that has not changed; null for chunks written before.
import type { Migration } from "./types.js";

export const chunkDocumentHash: Migration = {
  version: 13,
  name: "chunk document hash",
  up: ["ALTER TABLE {{schema}}.fabra_chunks ADD COLUMN document_hash text"],
};
