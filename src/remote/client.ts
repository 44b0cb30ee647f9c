// A small client for a running fabra server's HTTP API (found through its state file): JSON in and out, read
// losslessly, and the server's `{ error: { code, message, hint } }` turned back into the same FabraError.
import { FabraError, type FabraErrorCode } from "../errors.js";
import { parseJson, type JsonValue, toJsonText } from "../record/json.js";

export class FabraHttpClient {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  /** The response as a kind-preserving JSON value (12.0 stays a float, big integers exact). */
  async call(method: "GET" | "POST", path: string, body?: unknown): Promise<JsonValue> {
    return parseJson(await this.text(method, path, body), `the response to ${method} ${path}`);
  }

  /** The response as plain JS values (for display). */
  async callPlain<T = unknown>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    return JSON.parse(await this.text(method, path, body)) as T;
  }

  /** The response body as text, or the server's error as a FabraError. */
  async text(method: "GET" | "POST", path: string, body?: unknown): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : toJsonText(body),
      });
    } catch (err) {
      const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      throw new FabraError("STORE_UNAVAILABLE", `The fabra server at ${this.url} did not answer ${method} ${path}: ${reason}`, {
        hint: "That server holds the ledger file; check it is still running, or stop it and run the command again.",
        cause: err,
      });
    }
    const text = await res.text();
    if (!res.ok) throw errorFrom(res.status, text, this.url);
    return text;
  }
}

function errorFrom(status: number, text: string, url: string): FabraError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; hint?: string } };
    if (body.error?.code && body.error.message) {
      return new FabraError(body.error.code as FabraErrorCode, body.error.message, body.error.hint === undefined ? {} : { hint: body.error.hint });
    }
  } catch {
    // not our envelope
  }
  return new FabraError("STORE_UNAVAILABLE", `The fabra server at ${url} answered HTTP ${status}`, { hint: "Check the server's log." });
}
