// Declared context inputs: `context({ inputs: { userId: "string", limit: "integer?" } }, fn)`. When a context
// declares them, every call, HTTP request and replay is checked first, so a missing, unknown or mistyped input is
// one clear error naming it instead of a failure somewhere inside the function.
import { FabraError } from "../errors.js";

export const INPUT_KINDS = ["string", "number", "integer", "boolean", "object", "array", "any"] as const;
export type InputKind = (typeof INPUT_KINDS)[number];
/** A kind, optionally followed by `?` (the input may be left out or null). */
export type InputType = InputKind | `${InputKind}?`;
export type InputSpec = Record<string, InputType>;

export interface ParsedInput {
  name: string;
  kind: InputKind;
  optional: boolean;
}

/** The spec as a list; a malformed spec is a definition error naming the context and the input. */
export function parseInputSpec(spec: InputSpec, context: string): ParsedInput[] {
  return Object.entries(spec).map(([name, type]) => {
    const optional = typeof type === "string" && type.endsWith("?");
    const kind = (optional ? type.slice(0, -1) : type) as InputKind;
    if (!INPUT_KINDS.includes(kind)) {
      throw new FabraError(
        "INVALID_DEFINITION",
        `Context ${context} declares input "${name}" as ${JSON.stringify(type)}`,
        {
          hint: `Use one of ${INPUT_KINDS.join(", ")}, with a trailing "?" for optional inputs.`,
        },
      );
    }
    return { name, kind, optional };
  });
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "bigint") return "integer";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function fits(kind: InputKind, value: unknown): boolean {
  switch (kind) {
    case "any":
      return true;
    case "number":
      return (typeof value === "number" && Number.isFinite(value)) || typeof value === "bigint";
    case "integer":
      return (typeof value === "number" && Number.isInteger(value)) || typeof value === "bigint";
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    default:
      return typeof value === kind;
  }
}

/**
 * Inputs that name the interaction a context serves (as the original's clients send them): accepted by every
 * context whether declared or not, kept in the record's inputs, and summed up as `meta.interaction_ref`.
 */
export const INTERACTION_INPUTS = ["interaction_ref", "call_id", "session_id", "turn_id"] as const;

/**
 * The interaction a call belongs to, as the original builds it: the `interaction_ref` input; else `call_id`; else
 * `session_id`, with `:<turn_id>` when a turn is given. Null when none is given (strings and whole numbers count).
 */
export function interactionRef(inputs: Record<string, unknown>): string | null {
  const text = (name: (typeof INTERACTION_INPUTS)[number]): string | null => {
    const value = Object.hasOwn(inputs, name) ? inputs[name] : undefined;
    if (typeof value === "string" && value.trim() !== "") return value;
    if (typeof value === "number" && Number.isInteger(value)) return String(value);
    if (typeof value === "bigint") return value.toString();
    return null;
  };
  const session = text("session_id");
  const turn = text("turn_id");
  return (
    text("interaction_ref") ??
    text("call_id") ??
    (session === null ? null : turn === null ? session : `${session}:${turn}`)
  );
}

/** Checks inputs against a context's declared spec (no spec: anything goes). Throws INVALID_INPUT. */
export function checkInputs(spec: InputSpec | undefined, context: string, inputs: Record<string, unknown>): void {
  if (spec === undefined) return;
  const declared = parseInputSpec(spec, context);
  const usage = declared.map((d) => `${d.name}: ${d.kind}${d.optional ? "?" : ""}`).join(", ");
  const hint = `${context} takes { ${usage} }.`;
  // Own members only: a value reached through the prototype (an input object whose `__proto__` was set) is not an
  // input the record shows, so it never satisfies a declared input.
  const own = (name: string): unknown => (Object.hasOwn(inputs, name) ? inputs[name] : undefined);
  for (const d of declared) {
    const value = own(d.name);
    if (value === undefined || value === null) {
      if (d.optional) continue;
      throw new FabraError("INVALID_INPUT", `Context ${context} is missing input "${d.name}" (${d.kind})`, {
        hint,
        details: { input: d.name },
      });
    }
    if (!fits(d.kind, value)) {
      throw new FabraError(
        "INVALID_INPUT",
        `Input "${d.name}" of context ${context} is ${kindOf(value)}, expected ${d.kind}`,
        { hint, details: { input: d.name } },
      );
    }
  }
  const known = new Set<string>([...declared.map((d) => d.name), ...INTERACTION_INPUTS]);
  const unknown = Object.keys(inputs).filter((k) => !known.has(k) && own(k) !== undefined);
  if (unknown.length > 0) {
    throw new FabraError(
      "INVALID_INPUT",
      `Context ${context} has no input ${unknown.map((k) => `"${k}"`).join(", ")}`,
      {
        hint,
        details: { input: unknown[0] },
      },
    );
  }
}
