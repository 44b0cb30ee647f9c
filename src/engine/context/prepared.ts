// A context definition's options as assembly uses them, worked out once per definition (not per call): the
// freshness SLAs in ms, the budget strategy, the tokenizer's encoding, the separator and whether joined counts compose (token-join.ts).
// The definition checks (engine/definition-checks.ts) have already refused bad values; options are read once, so
// changing a definition's options object after its first call has no effect.
import type { BudgetStrategy, ContextDef } from "../../define/context.js";
import { parseDuration } from "../../util/duration.js";
import { composableSeparator } from "./token-join.js";
import { type Encoding, encodingFor } from "./tokens.js";

export interface PreparedContext {
  readonly model: string | undefined;
  readonly encoding: Encoding;
  readonly maxTokens: number | null;
  readonly separator: string;
  /** Joined counts follow from the items' counts (Lemma B of token-join.ts can hold). */
  readonly composable: boolean;
  /** `freshnessSla` (features) and `chunkFreshnessSla` (included chunks), in ms. */
  readonly slaMs: number | null;
  readonly chunkSlaMs: number | null;
  readonly budgetStrategy: BudgetStrategy;
}

const prepared = new WeakMap<ContextDef, PreparedContext>();

export function preparedContext(def: ContextDef, name: string): PreparedContext {
  let found = prepared.get(def);
  if (!found) {
    const { model, maxTokens, separator = "\n", freshnessSla, chunkFreshnessSla, budgetStrategy } = def.options;
    found = {
      model,
      encoding: encodingFor(model),
      maxTokens: maxTokens ?? null,
      separator,
      composable: composableSeparator(separator),
      slaMs: freshnessSla === undefined ? null : parseDuration(freshnessSla, `freshnessSla of context ${name}`),
      chunkSlaMs:
        chunkFreshnessSla === undefined
          ? null
          : parseDuration(chunkFreshnessSla, `chunkFreshnessSla of context ${name}`),
      budgetStrategy: budgetStrategy ?? "drop",
    };
    prepared.set(def, found);
  }
  return found;
}
