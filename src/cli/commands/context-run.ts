// `fabra context run <function> --input key=value ...`: assemble a context, print content, id and drops.
import type { Command } from "commander";
import { FabraError } from "../../errors.js";
import type { ContextResult } from "../../define/types.js";
import type { assemblyJson } from "../../engine/json-shapes.js";
import { withFabraOrServer } from "../../project.js";
import { recordFromJson } from "../../record/schema.js";
import { print, projectOptions } from "../options.js";
import { renderAssembly } from "../render/assembly-view.js";

interface RunFlags {
  input: string[];
  inputs?: string;
  json?: boolean;
}

export function registerContextRun(context: Command): void {
  context
    .command("run <function>")
    .description("Assemble a context with the given inputs, write its record, print the content")
    .option("-i, --input <key=value>", "an input (string value); repeat for several", collect, [])
    .option("--inputs <json>", "all inputs as one JSON object (for numbers, booleans, nested values)")
    .option("--json", "print the result as JSON")
    .action(async (name: string, flags: RunFlags, cmd: Command) => {
      const inputs = parseInputs(flags);
      const result = await withFabraOrServer(
        projectOptions(cmd),
        (fabra) => fabra.assemble(name, inputs),
        // A `fabra serve` holds the local ledger: assemble in that server, then read its record back.
        async (server) => {
          const res = await server.callPlain<ReturnType<typeof assemblyJson>>("POST", `/v1/context/${encodeURIComponent(name)}`, inputs);
          const record = recordFromJson(await server.call("GET", `/v1/contexts/${res.context_id}`));
          const m = res.meta;
          const meta = { budgetExceeded: m.budget_exceeded, freshnessStatus: m.freshness_status, freshnessViolations: m.freshness_violations, latencyMs: m.latency_ms, estimatedCostUsd: m.estimated_cost_usd, recordHash: res.record_hash, persisted: m.persisted };
          return { id: res.context_id, content: res.content, tokenCount: res.token_count, dropped: res.dropped, meta, record } satisfies ContextResult;
        },
      );
      if (flags.json) {
        return print(
          JSON.stringify({ context_id: result.id, content: result.content, token_count: result.tokenCount, dropped: result.dropped, meta: result.meta }, null, 2),
        );
      }
      print(renderAssembly(result));
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parseInputs(flags: { input: string[]; inputs?: string }): Record<string, unknown> {
  let inputs: Record<string, unknown> = {};
  if (flags.inputs !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.inputs);
    } catch (err) {
      throw new FabraError("INVALID_JSON", `--inputs is not valid JSON: ${(err as Error).message}`, { hint: `Use e.g. --inputs '{"userId":"u_1","limit":3}'.` });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new FabraError("INVALID_ARGUMENT", "--inputs must be a JSON object", { hint: `Use e.g. --inputs '{"userId":"u_1"}'.` });
    }
    inputs = parsed as Record<string, unknown>;
  }
  for (const pair of flags.input) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new FabraError("INVALID_ARGUMENT", `--input ${JSON.stringify(pair)} is not key=value`, { hint: "Use e.g. --input userId=u_1 --input query=\"reset password\"." });
    }
    inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return inputs;
}
