// API-key auth for `fabra serve`. Keys come from FABRA_API_KEYS (comma-separated) and FABRA_API_KEY (the original's
// single key; both read by config: config.server.apiKeys), sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`,
// compared in constant time (key-compare.ts). With no keys configured only loopback clients are let in. The per-run local token
// (from the state file, for `fabra context ...` in another terminal) is always accepted, and check() says which
// credential let a request in: only the local token may write ledger rows (routes/ledger.ts).
import { FabraError } from "../errors.js";
import { keyMatcher } from "./key-compare.js";

/** What let a request in: an API key, the per-run local token, or (no keys configured) a loopback address. */
export type Credential = "api-key" | "local-token" | "loopback";

export interface Auth {
  /** "keys": every request needs a key; "loopback": no keys configured, only loopback clients are allowed. */
  readonly mode: "keys" | "loopback";
  /** Throws UNAUTHORIZED unless the request may proceed; says which credential let it in. */
  check(
    headers: { authorization?: string | undefined; apiKey?: string | undefined },
    remoteAddress: string | undefined | (() => string | undefined),
  ): Credential;
}

export function createAuth(apiKeys: readonly string[], localToken?: string): Auth {
  // The local token first: one constant-time pass over every key says which one (if any) the presented key is.
  const match = keyMatcher(localToken ? [localToken, ...apiKeys] : apiKeys);
  const mode = apiKeys.length > 0 ? "keys" : "loopback";
  return {
    mode,
    check(headers, remoteAddress) {
      const presented = credential(headers);
      if (presented !== null) {
        const matched = match(presented);
        if (matched === 0 && localToken) return "local-token";
        if (matched >= 0) return "api-key";
        throw new FabraError("UNAUTHORIZED", "The API key is not valid", {
          hint: "Send one of the server's FABRA_API_KEYS as `Authorization: Bearer <key>` or `X-API-Key: <key>`.",
        });
      }
      if (mode === "loopback" && isLoopback(typeof remoteAddress === "function" ? remoteAddress() : remoteAddress))
        return "loopback";
      throw mode === "keys"
        ? new FabraError("UNAUTHORIZED", "This server requires an API key", {
            hint: "Send `Authorization: Bearer <key>` or `X-API-Key: <key>` with one of the server's FABRA_API_KEYS.",
          })
        : new FabraError("UNAUTHORIZED", "No API keys are configured, so this server only accepts loopback clients", {
            hint: "Set FABRA_API_KEYS on the server and send `Authorization: Bearer <key>`, or call it from the same host.",
          });
    },
  };
}

const BEARER = /^Bearer\s+(.+)$/i;

function credential(headers: { authorization?: string | undefined; apiKey?: string | undefined }): string | null {
  const auth = headers.authorization?.trim();
  // test(), not exec(): no match array per request; what follows "Bearer" and its whitespace is the key.
  if (auth && BEARER.test(auth)) return auth.slice(6).trim();
  const key = headers.apiKey?.trim();
  return key ? key : null;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}
