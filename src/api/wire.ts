// The building blocks of the wire shapes: numbers that read the same from plain or lossless JSON, and reading a
// shape back with one clear error. A response is checked against its shape's zod schema, so a server of another
// fabra version (or a proxy's error page) fails naming the field, instead of undefined values further on.
import { z } from "zod";
import { FabraError } from "../errors.js";
import { JsonFloat } from "../record/json.js";

/** A number as plain JSON.parse gives it, or as the lossless reader does (bigint, JsonFloat): read as a number. */
export const wireNumber = z.union([z.number(), z.bigint(), z.instanceof(JsonFloat)]).transform((n) => Number(n));
/** A whole number (counts, token counts), read like `wireNumber`. */
export const wireInt = wireNumber.pipe(z.number().int());

/** `value` as the shape says, or a STORE_UNAVAILABLE error naming `what` and the first field that does not fit. */
export function parseShape<S extends z.ZodType>(shape: S, value: unknown, what: string): z.output<S> {
  const parsed = shape.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue && issue.path.length > 0 ? ` at ${issue.path.map(String).join(".")}` : "";
  throw new FabraError(
    "STORE_UNAVAILABLE",
    `${what} is not what this fabra expects${at}: ${issue?.message ?? "unreadable"}`,
    {
      hint: "Is that server running the same fabra version as this command? Compare `fabra --version` with its /health.",
    },
  );
}
