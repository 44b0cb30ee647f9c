// Request and response helpers shared by the routes: lossless JSON bodies read under the size limit, JSON
// responses, and the error envelope. (Parameters and bodies are checked against zod schemas in validate.ts.)
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { FabraError, httpStatusFor, isFabraError } from "../errors.js";
import { parseJson, isJsonObject, type JsonObject, type JsonValue, toJsonText } from "../record/json.js";
import type { AppEnv } from "./types.js";

export const JSON_TYPE = "application/json; charset=utf-8";

/** What a response takes from its request: the request id, and whether to close the connection (while draining). */
export interface RequestMeta {
  requestId: string;
  closeConnection?: boolean | undefined;
}

/** The request's meta as the middleware set it on the context. */
export function metaOf(c: Context<AppEnv>): RequestMeta {
  return { requestId: c.get("requestId") ?? "", closeConnection: c.get("closeConnection") };
}

/**
 * A response as its parts, exactly as Node's adapter writes a Response made of them (`writeHead(status, headers)`,
 * then `end(body)`, the headers in this order): the feature read lane writes these itself (routes/features.ts).
 */
export interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A response's parts with the request id (and `connection: close` while draining) and its content-length (given,
 * so the adapter writes the headers as they are, and a lane writing them itself writes the same bytes).
 */
export function plainResponse(
  meta: RequestMeta,
  body: string,
  status: number,
  contentType: string,
  extra?: Record<string, string>,
): PlainResponse {
  const headers: Record<string, string> = { "content-type": contentType, "x-request-id": meta.requestId };
  if (meta.closeConnection) headers.connection = "close";
  if (extra) Object.assign(headers, extra);
  headers["content-length"] = String(Buffer.byteLength(body));
  return { status, headers, body };
}

/** The Response of `plain`. */
export function toResponse(plain: PlainResponse): Response {
  return new Response(plain.body, { status: plain.status, headers: plain.headers });
}

/**
 * A response with the request id (and `connection: close` while draining). Headers go in as a plain object: on
 * Node's adapter that is written out directly, where a fetch `Headers` object (what `c.header()` builds) costs
 * more than the rest of a cached feature read.
 */
export function respondTo(
  meta: RequestMeta,
  body: string,
  status: number,
  contentType: string,
  extra?: Record<string, string>,
): Response {
  return toResponse(plainResponse(meta, body, status, contentType, extra));
}

export function respond(
  c: Context<AppEnv>,
  body: string,
  status: number,
  contentType: string,
  extra?: Record<string, string>,
): Response {
  return respondTo(metaOf(c), body, status, contentType, extra);
}

/** A JSON response; floats keep their form and big integers their digits. */
export function sendJson(c: Context<AppEnv>, value: unknown, status = 200, extra?: Record<string, string>): Response {
  return respondTo(metaOf(c), toJsonText(value), status, JSON_TYPE, extra);
}

/**
 * The JSON error response for anything thrown while serving `request`; 5xx are logged with the request id (a
 * client's mistakes are not server faults).
 */
export function errorResponse(
  err: unknown,
  request: RequestMeta & { method: string; path: string },
  log: (line: string) => void,
): Response {
  return toResponse(errorParts(err, request, log));
}

/** errorResponse's parts. */
export function errorParts(
  err: unknown,
  request: RequestMeta & { method: string; path: string },
  log: (line: string) => void,
): PlainResponse {
  if (err instanceof HTTPException) {
    // hono's own (e.g. a malformed request): keep its status, in our envelope.
    const status = err.status;
    const code = status === 413 ? "PAYLOAD_TOO_LARGE" : status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
    return plainResponse(
      request,
      toJsonText({ error: { code, message: err.message || "Bad request" } }),
      status,
      JSON_TYPE,
    );
  }
  const { status, body } = errorBody(err, request.requestId);
  if (status >= 500 && body.error.code !== "SHUTTING_DOWN") {
    const detail = err instanceof FabraError && err.cause instanceof Error ? err.cause : err;
    log(
      `[${request.requestId}] ${status} ${body.error.code} ${request.method} ${request.path}: ${err instanceof Error ? err.message : String(err)}\n${detail instanceof Error ? (detail.stack ?? "") : ""}`.trimEnd(),
    );
  }
  return plainResponse(
    request,
    toJsonText(body),
    status,
    JSON_TYPE,
    status === 401 ? { "www-authenticate": 'Bearer realm="fabra"' } : undefined,
  );
}

function tooLarge(limit: number): FabraError {
  return new FabraError("PAYLOAD_TOO_LARGE", `The request body is over the limit of ${limit} bytes`, {
    hint: "Send less per request (split batches), or raise server.bodyLimit in fabra.config.ts.",
  });
}

/**
 * The request body as text, refused with 413 as soon as it passes `limit` bytes: by its Content-Length, or while
 * a chunked body streams in (so an endless body never fills memory).
 */
export async function readBodyText(c: Context<AppEnv>, limit: number): Promise<string> {
  const incoming = c.env?.incoming;
  const declared = Number(incoming ? incoming.headers["content-length"] : c.req.header("content-length"));
  if (declared > limit) throw tooLarge(limit);
  if (!incoming) {
    const text = await c.req.text(); // not on Node's server (app.request in tests): check after reading
    if (Buffer.byteLength(text) > limit) throw tooLarge(limit);
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The request body as a kind-preserving JSON value; `optional` bodies may be empty. */
export async function readJson(c: Context<AppEnv>, optional = false): Promise<JsonValue | undefined> {
  const text = await readBodyText(c, c.get("bodyLimit"));
  if (text.trim() === "") {
    if (optional) return undefined;
    throw new FabraError("INVALID_JSON", "The request body is empty", {
      hint: "Send a JSON object with Content-Type: application/json.",
    });
  }
  try {
    return parseJson(text, "the request body");
  } catch (err) {
    if (isFabraError(err))
      throw new FabraError("INVALID_JSON", err.message, {
        hint: "Send valid JSON with Content-Type: application/json.",
      });
    throw err;
  }
}

export async function readJsonObject(c: Context<AppEnv>, what: string, optional = false): Promise<JsonObject> {
  const body = await readJson(c, optional);
  if (body === undefined) return {};
  if (!isJsonObject(body)) {
    throw new FabraError(
      "INVALID_ARGUMENT",
      `${what} must be a JSON object, not ${Array.isArray(body) ? "an array" : body === null ? "null" : typeof body}`,
      {
        hint: 'Send e.g. {"userId": "u_1"}.',
      },
    );
  }
  return body;
}

export interface ErrorBody {
  error: { code: string; message: string; hint?: string; request_id?: string };
}

/** The JSON error envelope; unknown errors say only that something failed and where to look (the request id). */
export function errorBody(err: unknown, requestId: string): { status: number; body: ErrorBody } {
  const status = httpStatusFor(err);
  if (isFabraError(err)) {
    const error: ErrorBody["error"] = { code: err.code, message: err.message };
    if (err.hint) error.hint = err.hint;
    if (status >= 500) error.request_id = requestId;
    return { status, body: { error } };
  }
  return {
    status: 500,
    body: {
      error: {
        code: "INTERNAL",
        message: "Internal server error",
        hint: `The server log has the details under request id ${requestId}.`,
        request_id: requestId,
      },
    },
  };
}
