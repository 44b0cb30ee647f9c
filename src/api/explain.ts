// The wire shape of a counterfactual budget (`fabra context explain`, POST /v1/contexts/:id/explain): what the
// record's own budget kept and dropped, what another budget would, and the token ledger of each.
import { z } from "zod";
import type { Explanation, TokenLedger } from "../engine/context/explain.js";
import { wireInt } from "./wire.js";

const fate = z.enum(["kept", "dropped"]);

const tokenLedgerShape = z.object({
  max_tokens: wireInt.nullable(),
  provided: wireInt,
  used: wireInt,
  dropped: z.record(z.string(), z.object({ items: wireInt, tokens: wireInt })),
  budget_exceeded: z.boolean(),
});

export const explanationShape = z.object({
  context_id: z.string(),
  context_function: z.string(),
  strategy: z.enum(["drop", "backfill"]),
  recorded: tokenLedgerShape,
  explained: tokenLedgerShape,
  items: z.array(
    z.object({
      key: z.string(),
      priority: wireInt,
      required: z.boolean(),
      tokens: wireInt,
      recorded: fate,
      explained: fate,
    }),
  ),
  content: z.string(),
  reproduces: z.boolean(),
});
export type ExplanationJson = z.output<typeof explanationShape>;

function tokenLedgerJson(t: TokenLedger): z.output<typeof tokenLedgerShape> {
  return {
    max_tokens: t.maxTokens,
    provided: t.provided,
    used: t.used,
    dropped: t.dropped,
    budget_exceeded: t.budgetExceeded,
  };
}

export function explanationJson(e: Explanation): ExplanationJson {
  return {
    context_id: e.contextId,
    context_function: e.contextFunction,
    strategy: e.strategy,
    recorded: tokenLedgerJson(e.recorded),
    explained: tokenLedgerJson(e.explained),
    items: e.items,
    content: e.content,
    reproduces: e.reproduces,
  };
}
