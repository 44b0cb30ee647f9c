// The few request headers every request is checked by (its request id, its credential), read straight from Node's
// raw header list: building a fetch Headers (or even Node's lazy headers object) per request costs more than these
// lookups. Without Node's request (app.request in tests) they come from the fetch Request.
import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";

/** The headers the server reads on every request; the first of each wins. */
export interface FoundHeaders {
  "x-request-id"?: string | undefined;
  authorization?: string | undefined;
  "x-api-key"?: string | undefined;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The request id to answer with: the client's X-Request-Id when it is a plain token, else a new UUID. */
export function requestIdOf(headers: FoundHeaders): string {
  const incoming = headers["x-request-id"];
  return incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export function readHeaders(incoming: IncomingMessage | undefined, request: Request): FoundHeaders {
  if (incoming) return readRawHeaders(incoming.rawHeaders);
  const get = (name: string) => request.headers.get(name) ?? undefined;
  return { "x-request-id": get("x-request-id"), authorization: get("authorization"), "x-api-key": get("x-api-key") };
}

/**
 * The headers from Node's [name, value, name, value, ...] list in one pass (names in any case, compared without
 * lower-cased copies).
 */
export function readRawHeaders(raw: string[]): FoundHeaders {
  const found: FoundHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const key =
      name.length === 12 && sameLetters(name, "x-request-id")
        ? "x-request-id"
        : name.length === 13 && sameLetters(name, "authorization")
          ? "authorization"
          : name.length === 9 && sameLetters(name, "x-api-key")
            ? "x-api-key"
            : undefined;
    if (key !== undefined && found[key] === undefined) found[key] = raw[i + 1];
  }
  return found;
}

/** `name` equals the lower-case ASCII `lower` ignoring case (same length). */
function sameLetters(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
