// The one table of error codes: every code has a deliberate exit code and HTTP status (none falls to a default).
import { describe, expect, it } from "vitest";
import { errorMessage, exitCodeFor, FabraError, httpStatusFor, toFabraError } from "../../src/errors.js";

const err = (code: ConstructorParameters<typeof FabraError>[0]) => new FabraError(code, "x");

describe("error codes", () => {
  it("map the caller's faults to 4xx and the server's own to 5xx", () => {
    for (const code of [
      "INVALID_ARGUMENT",
      "INVALID_INPUT",
      "INVALID_JSON",
      "FEATURE_NOT_FOUND",
      "UNAUTHORIZED",
      "PAYLOAD_TOO_LARGE",
      "RECORD_CONFLICT",
      "REPLAY_INCOMPATIBLE",
    ] as const) {
      expect(httpStatusFor(err(code)), code).toBeGreaterThanOrEqual(400);
      expect(httpStatusFor(err(code)), code).toBeLessThan(500);
      expect(exitCodeFor(err(code)), code).toBe(2);
    }
    expect(httpStatusFor(err("FILE_NOT_FOUND"))).toBe(404);
    expect(httpStatusFor(err("FILE_EXISTS"))).toBe(409);
    // Definitions and config are the operator's in a server: not the client's request to fix.
    expect(httpStatusFor(err("INVALID_DEFINITION"))).toBe(500);
    expect(exitCodeFor(err("INVALID_DEFINITION"))).toBe(2);
    expect(httpStatusFor(err("STORE_UNAVAILABLE"))).toBe(503);
    expect(exitCodeFor(err("STORE_UNAVAILABLE"))).toBe(3);
    expect(exitCodeFor(err("VERIFICATION_FAILED"))).toBe(1);
    expect(httpStatusFor(new Error("boom"))).toBe(500);
    expect(exitCodeFor(new Error("boom"))).toBe(3);
  });

  it("errorMessage and toFabraError take the message of anything thrown", () => {
    expect(errorMessage(new Error("a"))).toBe("a");
    expect(errorMessage("b")).toBe("b");
    expect(errorMessage(42)).toBe("42");
    expect(toFabraError(new Error("c"), "INTERNAL", "while testing").message).toBe("while testing: c");
  });
});
