// `fabra context run <function> --input key=value ...`: assemble a context, print content, id and drops.
import type { Command } from "commander";
import { FabraError } from "../../errors.js";
import { withFabra } from "../../project.js";
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
      await withFabra(projectOptions(cmd), async (fabra) => {
        const result = await fabra.assemble(name, inputs);
        if (flags.json) {
          return print(
            JSON.stringify(
              { context_id: result.id, content: result.content, token_count: result.tokenCount, dropped: result.dropped, meta: result.meta },
              null,
              2,
            ),
          );
        }
        print(renderAssembly(result));
      });
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
