// Every Postgres migration, in order. To change the schema, add the next numbered file here (e.g.
// 004-...ts) and list it below; never edit a released migration.
import { ledger } from "./001-ledger.js";
import { vectorChunks } from "./002-vector-chunks.js";
import { featureHistory } from "./003-feature-history.js";
import { transparencyLog } from "./004-transparency-log.js";
import { importedRecords } from "./005-imported-records.js";
import { knownTime } from "./006-known-time.js";
import { outcomes } from "./007-outcomes.js";
import { runAttempts } from "./008-run-attempts.js";
import { tlogQueueTiles } from "./009-tlog-queue-tiles.js";
import { tlogTileSlots } from "./010-tlog-tile-slots.js";
import { recordFilters } from "./012-record-filters.js";
import { chunkDocumentHash } from "./013-chunk-document-hash.js";
import { chunkTokenCounts } from "./015-chunk-token-counts.js";
import type { Migration } from "./types.js";

export type { Migration };

export const MIGRATIONS: readonly Migration[] = [
  ledger,
  vectorChunks,
  featureHistory,
  transparencyLog,
  importedRecords,
  knownTime,
  outcomes,
  runAttempts,
  tlogQueueTiles,
  tlogTileSlots,
  recordFilters,
  chunkDocumentHash,
  chunkTokenCounts,
];
