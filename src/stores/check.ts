// Building health-check lines (`fabra doctor`, GET /ready): a failure from any error, with the FabraError's hint as the fix.
import { FabraError } from "../errors.js";
import type { StoreCheck } from "./types.js";

export function failedCheck(name: string, err: unknown): StoreCheck {
  const e = err instanceof FabraError ? err : null;
  const detail = e?.message ?? (err instanceof Error ? err.message : String(err));
  return e?.hint === undefined ? { name, state: "fail", detail } : { name, state: "fail", detail, fix: e.hint };
}
