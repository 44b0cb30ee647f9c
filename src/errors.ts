// FabraError: every failure a user can act on carries a stable code, a message and a hint.
// The CLI maps codes to exit codes (exitCodeFor) and the server to HTTP statuses (httpStatusFor), each in one place.

/**
 * Every code with its CLI exit code and HTTP status, in one table (so no code can fall through to a default).
 * Exit codes: 1 = verification failed, 2 = bad input (arguments, files, config, definitions, records), 3 = a runtime
 * fault. HTTP statuses are what a *client* of `fabra serve` should read: 4xx when its request is at fault; 5xx when
 * the server is (its stores, or its own config and definitions, which were loaded at start and which the client
 * cannot change, so a 4xx would tell the client to fix a request that is fine and hide a broken deployment from
 * alerting). The error body always carries the code, message and hint; 5xx ones also the request id in the log.
 */
const CODES = {
  // the caller's input
  INVALID_ARGUMENT: { exit: 2, http: 400 },
  INVALID_ID: { exit: 2, http: 400 },
  INVALID_JSON: { exit: 2, http: 400 },
  INVALID_RECORD: { exit: 2, http: 400 },
  INVALID_INPUT: { exit: 2, http: 400 },
  UNAUTHORIZED: { exit: 2, http: 401 },
  FORBIDDEN: { exit: 2, http: 403 },
  NOT_FOUND: { exit: 2, http: 404 },
  RECORD_NOT_FOUND: { exit: 2, http: 404 },
  FEATURE_NOT_FOUND: { exit: 2, http: 404 },
  CONTEXT_NOT_FOUND: { exit: 2, http: 404 },
  INDEX_NOT_FOUND: { exit: 2, http: 404 },
  PAYLOAD_TOO_LARGE: { exit: 2, http: 413 },
  // files named on the command line (no route reads a file a client names; in a server they are its own)
  FILE_NOT_FOUND: { exit: 2, http: 404 },
  FILE_EXISTS: { exit: 2, http: 409 },
  FILE_UNREADABLE: { exit: 2, http: 500 },
  FILE_UNWRITABLE: { exit: 2, http: 500 },
  // the project's own config and definitions: the user's to fix on the command line, the operator's in a server
  INVALID_CONFIG: { exit: 2, http: 500 },
  INVALID_DEFINITION: { exit: 2, http: 500 },
  // a request that is well-formed but conflicts with what is stored or configured
  RECORD_CONFLICT: { exit: 2, http: 409 },
  REPLAY_INCOMPATIBLE: { exit: 2, http: 422 },
  DIMENSION_MISMATCH: { exit: 2, http: 422 },
  // integrity: a record fails verification
  VERIFICATION_FAILED: { exit: 1, http: 422 },
  // the context could not be served within its freshness SLA (freshnessPolicy: "fail")
  FRESHNESS_VIOLATION: { exit: 3, http: 422 },
  // runtime faults: stores, user code, shutdown
  LEDGER_LOCKED: { exit: 3, http: 503 },
  STORE_UNAVAILABLE: { exit: 3, http: 503 },
  PERSIST_FAILED: { exit: 3, http: 503 },
  SCHEMA_OUTDATED: { exit: 3, http: 503 },
  SHUTTING_DOWN: { exit: 3, http: 503 },
  MIGRATION_FAILED: { exit: 3, http: 500 },
  EMBEDDER_FAILED: { exit: 3, http: 500 },
  FEATURE_COMPUTE_FAILED: { exit: 3, http: 500 },
  CONTEXT_FAILED: { exit: 3, http: 500 },
  INTERNAL: { exit: 3, http: 500 },
} as const satisfies Record<string, { exit: 1 | 2 | 3; http: number }>;

export type FabraErrorCode = keyof typeof CODES;

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

/** Process exit code for an error: 1 = verification failed, 2 = bad input, 3 = runtime fault (and anything not a FabraError). */
export function exitCodeFor(err: unknown): number {
  return isFabraError(err) ? CODES[err.code].exit : 3;
}

/** HTTP status for an error (500 for anything not a FabraError). */
export function httpStatusFor(err: unknown): number {
  return isFabraError(err) ? CODES[err.code].http : 500;
}

/** The message of anything thrown (an Error's message, else its string form). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Wraps an unknown thrown value as a FabraError, keeping FabraErrors as they are. */
export function toFabraError(err: unknown, code: FabraErrorCode, message: string, hint?: string): FabraError {
  if (isFabraError(err)) return err;
  return new FabraError(code, `${message}: ${errorMessage(err)}`, { hint, cause: err });
}
