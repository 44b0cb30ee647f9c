// The outcomes linked to a record, as `context show` prints them below the record: one block per model call.
// Provider-sent text is shown through showValue (JSON-escaped), so it cannot drive the terminal.
import type { OutcomeEntry } from "../../engine/ledger/outcome.js";
import { outcomeHash } from "../../engine/ledger/outcome.js";
import { bad, dim, formatMs, heading, showValue } from "./format.js";

export function renderOutcomes(outcomes: readonly OutcomeEntry[]): string {
  const out = ["", "", heading(`Outcomes (${outcomes.length})`)];
  if (outcomes.length === 0) {
    out.push(dim("  (none linked: wrap the model call with fabra/openai, fabra/ai-sdk or fabra/langchain)"));
    return out.join("\n");
  }
  for (const o of outcomes) {
    const usage = o.usage
      ? `tokens in ${o.usage.input_tokens ?? "?"} / out ${o.usage.output_tokens ?? "?"} / total ${o.usage.total_tokens ?? "?"}`
      : "usage unknown";
    out.push(
      `  ${o.recorded_at}  ${showValue(o.provider)}  model ${showValue(o.model)}  response ${showValue(o.response_id)}`,
      `    finish ${showValue(o.finish_reason)}   ${usage}   latency ${formatMs(o.latency_ms)}`,
    );
    if (o.error !== null) out.push(`    ${bad("error")} ${showValue(o.error, 200)}`);
    out.push(
      o.output_text === null
        ? `    output ${dim("(not stored)")} ${o.output_hash ?? ""}`
        : `    output ${showValue(o.output_text, 200)}`,
      dim(`    ${o.outcome_id}  entry ${outcomeHash(o)}`),
    );
  }
  return out.join("\n");
}
