// Request validation from zod schemas: query parameters (checked by zod-openapi's validators before a handler runs)
// and JSON bodies (read kind-preserving under the size limit, then parsed by their schema). Every failure is the
// FabraError the check made (code, message, hint), so responses keep the one error envelope.
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { FabraError, isFabraError } from "../errors.js";
import {
  FRESHNESS_STATUSES,
  parseBooleanFilter,
  parseFreshnessFilter,
  parseTimeOrAgo,
  parseValueFilter,
} from "../api/filters.js";
import { normalizeDatetime } from "../record/datetime.js";
import { normalizeContextId } from "../record/id.js";
import { readJsonObject } from "./http.js";
import type { AppEnv } from "./types.js";

type Issue = z.core.$ZodIssue;

/** The first issue as a FabraError: the one a check put into it, else INVALID_ARGUMENT with the issue's message. */
export function requestError(issues: readonly Issue[], hint: string): FabraError {
  const issue = issues[0];
  const made = issue?.code === "custom" ? (issue.params as { error?: unknown } | undefined)?.error : undefined;
  if (isFabraError(made)) return made;
  return new FabraError("INVALID_ARGUMENT", issue?.message ?? "The request is invalid", { hint });
}

/** `requests[0].entity_id`: where an issue is, as a client would write it. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("");
}

/** zod's own message, prefixed with the field it is about (schemas that set their own message keep it). */
function namedMessage(issue: z.core.$ZodRawIssue): string {
  const base = z.config().localeError?.(issue);
  const message = typeof base === "string" ? base : (base?.message ?? "Invalid input");
  return issue.path && issue.path.length > 0 ? `${fieldPath(issue.path)}: ${message}` : message;
}

/** zod-openapi's hook for every route: a failed check is thrown, and the app's error handler answers it. */
export function validationHook(result: { success: true } | { success: false; error: z.ZodError }): undefined {
  if (!result.success) {
    const issues = result.error.issues.map((issue) =>
      issue.code === "custom" ? issue : { ...issue, message: `${fieldPath(issue.path)}: ${issue.message}` },
    );
    throw requestError(issues, "GET /openapi.json describes every parameter.");
  }
  return undefined;
}

/** A zod transform running `parse`; a FabraError it throws becomes an issue carrying it (requestError gives it back). */
export function parsedBy<I, T>(parse: (value: I) => T) {
  return (value: I, ctx: z.core.$RefinementCtx<I>): T => {
    try {
      return parse(value);
    } catch (err) {
      if (!isFabraError(err)) throw err;
      ctx.addIssue({ code: "custom", message: err.message, params: { error: err } });
      return z.NEVER;
    }
  };
}

/** A query parameter: `parse` gets its text (undefined when absent or empty) and returns its value or throws. */
function param<T>(parse: (text: string | undefined) => T, doc: Record<string, unknown>) {
  return z
    .string()
    .optional()
    .transform(parsedBy((text: string | undefined) => parse(text === "" ? undefined : text)))
    .openapi(doc);
}

/** The query parameters the routes take, each with the message and hint a bad value gets. */
export const query = {
  text: (description: string) => param((v) => v, { description, type: "string" }),
  required: (name: string, example: string, description: string) =>
    param(
      (v) => {
        if (v === undefined)
          throw new FabraError("INVALID_ARGUMENT", `The query parameter ${name} is required`, {
            hint: `Add ?${name}=${example}.`,
          });
        return v;
      },
      { description, type: "string", param: { required: true } },
    ),
  datetime: (name: string, description: string) =>
    param(
      (v) => {
        if (v === undefined) return undefined;
        try {
          return normalizeDatetime(v, name);
        } catch {
          throw new FabraError("INVALID_ARGUMENT", `${name}=${JSON.stringify(v)} is not an ISO-8601 datetime`, {
            hint: `Use e.g. ${name}=2026-03-01T09:00:00Z.`,
          });
        }
      },
      { description, type: "string", format: "date-time" },
    ),
  int: (name: string, fallback: number, max: number, description: string) =>
    param(
      (v) => {
        if (v === undefined) return fallback;
        const n = Number(v);
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1 || n > max) {
          throw new FabraError(
            "INVALID_ARGUMENT",
            `${name}=${JSON.stringify(v)} is not a whole number from 1 to ${max}`,
            { hint: `Use e.g. ${name}=${Math.min(fallback, max)}.` },
          );
        }
        return n;
      },
      { description, type: "integer", minimum: 1, maximum: max, default: fallback },
    ),
  choice: <T extends string>(name: string, allowed: readonly [T, ...T[]], fallback: T, description: string) =>
    param(
      (v): T => {
        if (v === undefined) return fallback;
        if ((allowed as readonly string[]).includes(v)) return v as T;
        throw new FabraError("INVALID_ARGUMENT", `${name}=${JSON.stringify(v)} is not one of ${allowed.join(", ")}`, {
          hint: `Use ${name}=${allowed[0]}.`,
        });
      },
      { description, type: "string", enum: [...allowed], default: fallback },
    ),
  /** An ISO-8601 time or a duration ago (`1h`, `7d`), as `context list --since` takes it. */
  time: (name: string, description: string) =>
    param(
      (v) => {
        if (v === undefined) return undefined;
        try {
          return parseTimeOrAgo(v, name);
        } catch {
          throw new FabraError(
            "INVALID_ARGUMENT",
            `${name}=${JSON.stringify(v)} is not an ISO-8601 datetime or a duration ago`,
            { hint: `Use e.g. ${name}=2026-03-01T09:00:00Z or ${name}=1h.` },
          );
        }
      },
      {
        description,
        type: "string",
        examples: ["1h", "2026-03-01T09:00:00Z"],
      },
    ),
  /** `name=value`, repeatable (`?input=a=1&input=b=2`): every one must hold. */
  valueFilters: (name: string, description: string) =>
    z
      .union([z.string(), z.array(z.string())])
      .optional()
      .transform(
        parsedBy((v: string | string[] | undefined) =>
          v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map((t) => parseValueFilter(t, name)),
        ),
      )
      .openapi({ description, type: "string" }),
  freshness: (name: string, description: string) =>
    param((v) => (v === undefined ? undefined : parseFreshnessFilter(v, name)), {
      description,
      type: "string",
      enum: [...FRESHNESS_STATUSES],
    }),
  bool: (name: string, description: string) =>
    param((v) => (v === undefined ? undefined : parseBooleanFilter(v, name)), { description, type: "boolean" }),
  /** A context id (ctx_<uuid> or the bare UUID), normalized; a malformed one is INVALID_ID. */
  contextId: (description: string) =>
    param((v) => (v === undefined ? undefined : normalizeContextId(v)), { description, type: "string" }),
};

/** The JSON body, read kind-preserving under the size limit (an object; `optional`: may be empty), parsed by `schema`. */
export async function readBody<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  hint: string,
  optional = false,
): Promise<z.output<S>> {
  const body = await readJsonObject(c, "The body", optional);
  const result = schema.safeParse(body, { error: namedMessage });
  if (!result.success) throw requestError(result.error.issues, hint);
  return result.data;
}

/**
 * A body schema as plain JSON Schema for the OpenAPI document. Routes declare their bodies this way because a zod
 * schema there would make zod-openapi read the body itself (as lossy JSON, past the size limit); readBody does.
 */
export function documented(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
}
