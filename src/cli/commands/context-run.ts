// `fabra context run <function> --input key=value ...`: assemble a context, print content, id and drops.
import type { Command } from "commander";
import { FabraError, isFabraError } from "../../errors.js";
import { assemblyJson } from "../../api/contexts.js";
import { withFabraOrServer } from "../../app/project.js";
import { parseJson, isJsonObject, toPlain, type JsonObject, type JsonValue, toJsonText } from "../../record/json.js";
import { collect, outputFormat, print, projectOptions } from "../options.js";
import { renderAssembly } from "../render/assembly-view.js";

interface RunFlags {
  input: string[];
  inputs?: string;
  format?: string;
  json?: boolean;
}

export function registerContextRun(context: Command): void {
  context
    .command("run <function>")
    .description("Assemble a context with the given inputs, write its record, print the content")
    .option("-i, --input <key=value>", "an input (string value); repeat for several", collect, [])
    .option(
      "--inputs <json>",
      "all inputs as one JSON object (for numbers, booleans, nested values; 12.0 stays a float)",
    )
    .option("--format <format>", "text | json: the result as POST /v1/context/:name returns it")
    .option("--json", "the same as --format json")
    .action(async (name: string, flags: RunFlags, cmd: Command) => {
      const format = outputFormat(flags, ["text", "json"] as const, "text");
      // The inputs exactly as given (12.0 a float, big integers exact) go into the record, as over HTTP; the
      // function gets plain JS values.
      const inputs = parseInputs(flags);
      const result = await withFabraOrServer(
        projectOptions(cmd),
        (fabra) => fabra.runContext(name, toPlain(inputs) as Record<string, unknown>, { recordedInputs: inputs }),
        // A `fabra serve` holds the local ledger: assemble in that server (the inputs sent kind-preserving), then
        // read its record back.
        (server) => server.runContext(name, inputs),
      );
      if (format === "json") return print(toJsonText(assemblyJson(result), 2));
      print(renderAssembly(result));
    });
}

/** `--inputs` (read losslessly) with each `--input key=value` on top, as kind-preserving JSON. */
export function parseInputs(flags: { input: string[]; inputs?: string }): JsonObject {
  let inputs: JsonObject = {};
  if (flags.inputs !== undefined) {
    let parsed: JsonValue;
    try {
      parsed = parseJson(flags.inputs, "--inputs");
    } catch (err) {
      if (!isFabraError(err)) throw err;
      throw new FabraError("INVALID_JSON", err.message, {
        hint: `Use e.g. --inputs '{"userId":"u_1","limit":3}' (quote it for the shell).`,
      });
    }
    if (!isJsonObject(parsed)) {
      throw new FabraError("INVALID_ARGUMENT", "--inputs must be a JSON object", {
        hint: `Use e.g. --inputs '{"userId":"u_1"}'.`,
      });
    }
    inputs = parsed;
  }
  for (const pair of flags.input) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new FabraError("INVALID_ARGUMENT", `--input ${JSON.stringify(pair)} is not key=value`, {
        hint: 'Use e.g. --input userId=u_1 --input query="reset password".',
      });
    }
    inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return inputs;
}
