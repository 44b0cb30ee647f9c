// context(): a function returning ContextItems; calling it assembles them within the token budget and writes a record.
import type { InputSpec } from "./inputs.js";
import { nameOf, runtimeOf } from "./registry.js";
import type { ContextItem, ContextResult } from "./types.js";

export interface ContextOptions {
  /** Defaults to the export name. */
  name?: string;
  /** Token budget for the assembled content; none = unlimited. */
  maxTokens?: number;
  /** Features older than this are violations: `500ms`, `30s`, `5m`, `1h` (as in the Python implementation). */
  freshnessSla?: string | number;
  /**
   * Included chunks indexed longer ago than this are violations (documents change on another clock than features:
   * a policy page indexed a week ago may be fine). None = chunk age is recorded but never judged.
   */
  chunkFreshnessSla?: string | number;
  /** `degrade` (default): serve and record status `degraded`; `fail`: throw FRESHNESS_VIOLATION, write no record. */
  freshnessPolicy?: "degrade" | "fail";
  /** Picks the tokenizer and the price per token (cl100k_base by default). */
  model?: string;
  /**
   * `drop` (default, as the Python implementation): drop optional items, least important first, until the content
   * fits. `backfill`: then put back the smaller dropped items that fit in the room left, most important first.
   */
  budgetStrategy?: BudgetStrategy;
  /** Joins included items; default "\n". */
  separator?: string;
  description?: string;
  /**
   * Declares the inputs, e.g. `{ userId: "string", limit: "integer?" }` (string, number, integer, boolean, object,
   * array, any; `?` = optional). When given, calls, HTTP requests and replays are checked against it first.
   */
  inputs?: InputSpec;
}

export type BudgetStrategy = "drop" | "backfill";

/** Inputs are one object, recorded by parameter name so replay can call the function again. */
export type ContextInputs = Record<string, unknown>;

export type ContextFn<I extends ContextInputs> = (inputs: I) => ContextItem[] | Promise<ContextItem[]>;

export interface ContextDef<I extends ContextInputs = ContextInputs> {
  readonly kind: "context";
  name: string | undefined;
  readonly options: ContextOptions;
  readonly fn: ContextFn<I>;
  (inputs: I): Promise<ContextResult>;
}

export function context<I extends ContextInputs>(options: ContextOptions, fn: ContextFn<I>): ContextDef<I> {
  const call = (inputs: I) => runtimeOf(def).runContext(nameOf(def), inputs);
  const def = Object.assign(call, { kind: "context" as const, options, fn }) as unknown as ContextDef<I>;
  Object.defineProperty(def, "name", { value: options.name, writable: true, configurable: true });
  return def;
}
