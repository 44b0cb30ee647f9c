// `fabra context explain <id> --max-tokens N [--strategy drop|backfill]`: what the record would have kept and
// dropped at another budget (the function re-run on the record's own inputs, features and chunks; nothing written).
// While a `fabra serve` holds the local ledger, it runs in that server.
import type { Command } from "commander";
import { explanationJson, type ExplanationJson } from "../../api/explain.js";
import { withFabraOrServer } from "../../app/project.js";
import type { BudgetStrategy } from "../../define/context.js";
import { explainContext } from "../../engine/context/explain.js";
import { FabraError } from "../../errors.js";
import { normalizeContextId } from "../../record/id.js";
import { toJsonText } from "../../record/json.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { renderExplanation } from "../render/explain-view.js";
import { parseMaxTokens } from "../../util/max-tokens.js";

interface ExplainFlags {
  maxTokens: string;
  strategy?: string;
  format?: string;
}

export function registerContextExplain(context: Command): void {
  context
    .command("explain <id>")
    .description(
      "Show what a record would have kept and dropped at another token budget (re-run on its own data; nothing written)",
    )
    .requiredOption("--max-tokens <n>", "the budget to try: a whole number, or `none` for unlimited")
    .option("--strategy <strategy>", "drop | backfill (default: the context's own budgetStrategy)")
    .option("--format <format>", "text | json", "text")
    .action(async (id: string, flags: ExplainFlags, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      const maxTokens = parseMaxTokens(flags.maxTokens, "--max-tokens");
      const strategy = parseStrategy(flags.strategy);
      const contextId = normalizeContextId(id);
      const result = await withFabraOrServer<ExplanationJson>(
        projectOptions(cmd),
        async (fabra) => explanationJson(await explainContext(fabra, contextId, { maxTokens, strategy })),
        (server) => server.explain(contextId, maxTokens, strategy),
      );
      print(format === "json" ? toJsonText(result, 2) : renderExplanation(result));
    });
}

function parseStrategy(text: string | undefined): BudgetStrategy | undefined {
  if (text === undefined || text === "drop" || text === "backfill") return text;
  throw new FabraError("INVALID_ARGUMENT", `--strategy ${JSON.stringify(text)} is not drop or backfill`, {
    hint: "Use --strategy drop (drop least important first) or --strategy backfill (then put back smaller items that fit).",
  });
}
