// The wire shapes of the ledger's rows (/v1/ledger/*): what the remote record store sends and reads while a
// `fabra serve` holds the ledger file. A row is a record summary plus its canonical text, byte for byte.
import { z } from "zod";
import type { AppendOutcome, LedgerRow } from "../stores/types.js";
import { recordSummaryFromJson, recordSummaryJson, recordSummaryShape } from "./contexts.js";
import { wireInt } from "./wire.js";

export const ledgerRowShape = recordSummaryShape.extend({ canonical_text: z.string() });
export type LedgerRowJson = z.output<typeof ledgerRowShape>;

export function ledgerRowJson(r: LedgerRow): LedgerRowJson {
  return { ...recordSummaryJson(r), canonical_text: r.canonicalText };
}

export function ledgerRowFromJson(json: LedgerRowJson): LedgerRow {
  return { ...recordSummaryFromJson(json), canonicalText: json.canonical_text };
}

export const ledgerRowsShape = z.object({ rows: z.array(ledgerRowShape) });
export const ledgerCountShape = z.object({ count: wireInt });
export const ledgerAppendShape = z.object({ context_id: z.string(), outcome: z.enum(["inserted", "exists"]) });
export type LedgerAppendJson = z.output<typeof ledgerAppendShape>;

export function ledgerAppendJson(contextId: string, outcome: AppendOutcome): LedgerAppendJson {
  return { context_id: contextId, outcome };
}
