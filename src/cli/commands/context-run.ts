// `fabra context run <function> --input key=value ...`: assemble a context, print content, id and drops.
import type { Command } from "commander";
import { FabraError, isFabraError } from "../../errors.js";
import { assemblyJson } from "../../api/contexts.js";
import { withFabraOrServer } from "../../app/project.js";
import { parseJson, isJsonObject, toPlain, type JsonObject, type JsonValue, toJsonText } from "../../record/json.js";
import { type InputSpec, parseInputSpec } from "../../define/inputs.js";
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
        (fabra) => {
          // `--input` values are text: read each as its declared kind (number, integer, boolean).
          const declared = fabra.definitions.contexts.get(name)?.options.inputs;
          const typed = coerceFlagInputs(inputs, flagKeys(flags), declared, name);
          return fabra.runContext(name, toPlain(typed) as Record<string, unknown>, { recordedInputs: typed });
        },
        // A `fabra serve` holds the local ledger: assemble in that server (the inputs sent kind-preserving), then
        // read its record back.
        async (server, config) => {
          // The server's definitions are the project's: their declared kinds read the `--input` values here too.
          const { loadDefinitionModules } = await import("../../define/load.js");
          const declared = (await loadDefinitionModules(config.definitions)).contexts.get(name)?.options.inputs;
          return server.runContext(name, coerceFlagInputs(inputs, flagKeys(flags), declared, name));
        },
      );
      if (format === "json") return print(toJsonText(assemblyJson(result), 2));
      print(renderAssembly(result));
    });
}

/** The input names given with `--input key=value` (the ones that are text until a declared kind reads them). */
export function flagKeys(flags: { input: string[] }): Set<string> {
  return new Set(flags.input.map((pair) => pair.slice(0, Math.max(0, pair.indexOf("=")))).filter(Boolean));
}

const NUMBER_TEXT = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const INTEGER_TEXT = /^-?(0|[1-9]\d*)$/;

/**
 * `inputs` with each `--input` value (text) read as the kind its context declares for it: a number, an integer
 * (exact beyond 2^53), true/false. Text that is not one is refused with the `--inputs` form as the hint; kinds text
 * cannot hold (object, array) point to `--inputs` too. Undeclared inputs and string/any inputs stay text.
 */
export function coerceFlagInputs(
  inputs: JsonObject,
  fromFlag: Set<string>,
  spec: InputSpec | undefined,
  context: string,
): JsonObject {
  if (!spec) return inputs;
  const out: JsonObject = { ...inputs };
  for (const { name, kind } of parseInputSpec(spec, context)) {
    const text = inputs[name];
    if (!fromFlag.has(name) || typeof text !== "string") continue;
    const fits =
      kind === "number"
        ? NUMBER_TEXT.test(text)
        : kind === "integer"
          ? INTEGER_TEXT.test(text)
          : kind === "boolean"
            ? text === "true" || text === "false"
            : kind === "string" || kind === "any";
    if (kind === "string" || kind === "any") continue;
    if (!fits) {
      const example = kind === "boolean" ? "true" : kind === "object" ? "{}" : kind === "array" ? "[]" : "1500";
      throw new FabraError(
        "INVALID_INPUT",
        `--input ${name}=${JSON.stringify(text)}: context ${context} declares ${name} as ${kind}, and the text is not one`,
        {
          hint: `Give it as JSON: --inputs '{"${name}": ${example}}' (--input values are text, read as numbers, integers or true/false when declared so).`,
          details: { input: name },
        },
      );
    }
    out[name] = parseJson(text, `--input ${name}`);
  }
  return out;
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
