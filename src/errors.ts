// FabraError: every failure a user can act on carries a stable code, a message and a hint.
// The CLI maps codes to exit codes (exitCodeFor) and the server to HTTP statuses (httpStatusFor), each in one place.

export type FabraErrorCode =
  // bad input from the user (exit 2, HTTP 400/404/413)
  | "INVALID_ARGUMENT"
  | "INVALID_ID"
  | "INVALID_JSON"
  | "INVALID_RECORD"
  | "INVALID_CONFIG"
  | "INVALID_DEFINITION"
  | "INVALID_INPUT"
  | "FILE_NOT_FOUND"
  | "FILE_UNREADABLE"
  | "FILE_UNWRITABLE"
  | "FILE_EXISTS"
  | "NOT_FOUND"
  | "RECORD_NOT_FOUND"
  | "FEATURE_NOT_FOUND"
  | "CONTEXT_NOT_FOUND"
  | "INDEX_NOT_FOUND"
  | "UNAUTHORIZED"
  | "PAYLOAD_TOO_LARGE"
  // integrity and replay (exit 1 for verify, HTTP 409/422)
  | "VERIFICATION_FAILED"
  | "RECORD_CONFLICT"
  | "REPLAY_INCOMPATIBLE"
  // runtime faults (exit 3, HTTP 5xx)
  | "LEDGER_LOCKED"
  | "STORE_UNAVAILABLE"
  | "PERSIST_FAILED"
  | "FEATURE_COMPUTE_FAILED"
  | "FRESHNESS_VIOLATION"
  | "DIMENSION_MISMATCH"
  | "EMBEDDER_FAILED"
  | "MIGRATION_FAILED"
  | "SCHEMA_OUTDATED"
  | "CONTEXT_FAILED"
  | "SHUTTING_DOWN"
  | "INTERNAL";

export interface FabraErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Structured detail for JSON output (never secrets). */
  details?: Record<string, unknown>;
}

export class FabraError extends Error {
  readonly code: FabraErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: FabraErrorCode, message: string, options: FabraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FabraError";
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  toJSON(): { code: FabraErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

export function isFabraError(err: unknown): err is FabraError {
  return err instanceof FabraError;
}

const USER_ERRORS = new Set<FabraErrorCode>([
  "INVALID_ARGUMENT",
  "INVALID_ID",
  "INVALID_JSON",
  "INVALID_RECORD",
  "INVALID_CONFIG",
  "INVALID_DEFINITION",
  "INVALID_INPUT",
  "FILE_NOT_FOUND",
  "FILE_UNREADABLE",
  "FILE_UNWRITABLE",
  "FILE_EXISTS",
  "NOT_FOUND",
  "RECORD_NOT_FOUND",
  "FEATURE_NOT_FOUND",
  "CONTEXT_NOT_FOUND",
  "INDEX_NOT_FOUND",
  "UNAUTHORIZED",
  "PAYLOAD_TOO_LARGE",
  "RECORD_CONFLICT",
  "REPLAY_INCOMPATIBLE",
  "DIMENSION_MISMATCH",
]);

/** Process exit code for an error: 1 = verification failed, 2 = bad input, 3 = runtime fault. */
export function exitCodeFor(err: unknown): number {
  if (!isFabraError(err)) return 3;
  if (err.code === "VERIFICATION_FAILED") return 1;
  return USER_ERRORS.has(err.code) ? 2 : 3;
}

const HTTP_STATUS: Partial<Record<FabraErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_ID: 400,
  INVALID_JSON: 400,
  INVALID_RECORD: 400,
  INVALID_INPUT: 400,
  NOT_FOUND: 404,
  RECORD_NOT_FOUND: 404,
  FEATURE_NOT_FOUND: 404,
  CONTEXT_NOT_FOUND: 404,
  INDEX_NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  PAYLOAD_TOO_LARGE: 413,
  RECORD_CONFLICT: 409,
  VERIFICATION_FAILED: 422,
  REPLAY_INCOMPATIBLE: 422,
  FRESHNESS_VIOLATION: 422,
  DIMENSION_MISMATCH: 422,
  PERSIST_FAILED: 503,
  STORE_UNAVAILABLE: 503,
  SCHEMA_OUTDATED: 503,
  LEDGER_LOCKED: 503,
  SHUTTING_DOWN: 503,
};

export function httpStatusFor(err: unknown): number {
  if (!isFabraError(err)) return 500;
  return HTTP_STATUS[err.code] ?? 500;
}

/** Wraps an unknown thrown value as a FabraError, keeping FabraErrors as they are. */
export function toFabraError(err: unknown, code: FabraErrorCode, message: string, hint?: string): FabraError {
  if (isFabraError(err)) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new FabraError(code, `${message}: ${reason}`, { hint, cause: err });
}
