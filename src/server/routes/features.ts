// Feature reads: GET /v1/features/:name?entity_id= (cache, else computed on the miss; ?as_of= reads history; plain
// reads answered in front of hono's adapter by featureReadLane) and POST /v1/features (many features × entities in one call;
// each result carries its own error); POST /v1/features/push (values from outside into history and the online
// cache, one or a batch).
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FabraError } from "../../errors.js";
import { featureValueJson } from "../../api/shapes.js";
import { entityIdOf } from "../../engine/features/entity-id.js";
import { MAX_PUSH } from "../../engine/features/push.js";
import { type JsonObject, type JsonValue, toJsonText } from "../../record/json.js";
import {
  errorParts,
  JSON_TYPE,
  metaOf,
  type PlainResponse,
  plainResponse,
  type RequestMeta,
  sendJson,
  toResponse,
} from "../http.js";
import { readRawHeaders, requestIdOf } from "../request-headers.js";
import { ENTITY_ID, errors, FeatureValue, json, pathParam, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { documented, parsedBy, query, readBody } from "../validate.js";

/** Most reads one batch request may ask for. */
export const MAX_BATCH = 1000;

/** Either form of the batch body; `batchRequests` turns it into the reads, with a message naming any bad entity id. */
const entityIdField = z.unknown().meta(ENTITY_ID);
const BatchBody = z
  .object({
    features: z.array(z.string()).optional(),
    entity_ids: z.array(entityIdField).optional(),
    entity_id: entityIdField.optional(),
    requests: z.array(z.object({ feature: z.string(), entity_id: entityIdField })).optional(),
  })
  .meta({
    description: "Features × entities (`features` with `entity_ids` or `entity_id`), or explicit pairs (`requests`)",
  });
// z.unknown() passes entity ids through as parsed (a big integer stays a bigint).
const batchBody = BatchBody.transform(parsedBy((body) => batchRequests(body as JsonObject)));

const PushItem = z.object({
  feature: z.string(),
  entity_id: entityIdField,
  value: z.unknown().meta({ description: "The value (any JSON; 12.0 stays a float)" }),
  event_time: z.string().optional().meta({ description: "From when the value holds (ISO-8601; default: now)" }),
});
const PushBody = z
  .union([PushItem, z.object({ pushes: z.array(PushItem).min(1).max(MAX_PUSH) })])
  .meta({ description: "One value, or a batch as `pushes`" });

function routes(features: readonly string[]) {
  const value = FeatureValue(features);
  return {
    one: createRoute({
      method: "get",
      path: "/v1/features/{name}",
      summary: "Read a feature for an entity (cache, else computed on the miss; as_of reads history)",
      request: {
        params: z.object({ name: pathParam("Feature name", features) }),
        query: z.object({
          entity_id: query.required("entity_id", "u_1", "Entity id"),
          as_of: query.datetime("as_of", "The value as it was at this time, from offline history"),
          joined_by: query.choice(
            "joined_by",
            ["event_time", "known_time"],
            "event_time",
            "With as_of: join by event time, or only among values already known at as_of (known_time)",
          ),
        }),
      },
      responses: { 200: json(value, "The value with its provenance"), ...errors(400, 401, 404, 503) },
    }),
    batch: createRoute({
      method: "post",
      path: "/v1/features",
      summary: `Read many features for many entities (at most ${MAX_BATCH}); each result carries its own error`,
      request: { body: { required: true, ...json(documented(BatchBody), "Features × entities, or explicit pairs") } },
      responses: {
        200: json(
          z.object({
            results: z.array(
              z.union([value, z.object({ name: z.string(), entity_id: z.string(), error: z.object({}) })]),
            ),
          }),
          "One result per read, in order",
        ),
        ...errors(400, 401, 413),
      },
    }),
    push: createRoute({
      method: "post",
      path: "/v1/features/push",
      summary: `Push values (one, or at most ${MAX_PUSH} as "pushes") into history and the online cache in one step`,
      request: { body: { required: true, ...json(documented(PushBody), "One value, or a batch") } },
      responses: {
        200: json(
          z.object({ written: z.number(), cached: z.number(), run_id: z.string() }),
          "How many values went to history and to the cache",
        ),
        ...errors(400, 401, 404, 413),
      },
    }),
  };
}

/** The route pattern a feature read is counted under (request metrics), however it was answered. */
const ONE_ROUTE = "/v1/features/:name";
const ONE_PREFIX = "/v1/features/";

/** A feature read's 200 answer, counted by feature and source. */
function answer(
  deps: ServerDeps,
  meta: RequestMeta,
  name: string,
  value: Parameters<typeof featureValueJson>[0],
): PlainResponse {
  deps.metrics.featureRead(name, value.source);
  const body = featureValueJson(value);
  // A scalar value needs no kind-preserving serializer (the hot path: one cached string or number).
  return typeof body.value === "object" || typeof body.value === "bigint"
    ? plainResponse(meta, toJsonText(body), 200, JSON_TYPE)
    : plainResponse(meta, JSON.stringify(body), 200, JSON_TYPE);
}

/**
 * The hot path, answered in front of hono's Node adapter, router and middleware (serve.ts puts it before them):
 * `GET /v1/features/<a known feature>?entity_id=<unreserved characters>`, which the declared route's checks would
 * pass unchanged, from a client the auth check lets in, while the server is not draining. It does what the
 * middleware and the declared route do for such a request (the request id, auth, the in-flight count, request
 * metrics, the same answer and error envelope) and writes the response itself, as the adapter writes the route's
 * (`writeHead` with the same headers in the same order, then `end`: the same bytes), without the adapter's and
 * hono's per-request work (a fetch Request and its URL, a Response, a close listener, the router match, a context,
 * a chain of async middleware: more than the cached read itself). Returns false for any other request, and for
 * one failing auth: hono serves it, with its checks and its errors.
 */
export function featureReadLane(deps: ServerDeps): (incoming: IncomingMessage, outgoing: ServerResponse) => boolean {
  // "." and ".." are dot segments to the URL parser (the fetch Request hono routes by has them resolved away).
  const known = new Set([...deps.runtime.definitions.features.keys()].filter((n) => n !== "." && n !== ".."));
  return (incoming, outgoing) => {
    if (incoming.method !== "GET" || deps.state.draining) return false;
    const url = incoming.url ?? "";
    if (!url.startsWith(ONE_PREFIX)) return false;
    const entityId = plainEntityQuery(url);
    if (entityId === null) return false;
    const query = url.indexOf("?");
    // Unreserved characters only: the name hono would decode from the path is the same text.
    if (!unreserved(url, ONE_PREFIX.length, query)) return false;
    const name = url.slice(ONE_PREFIX.length, query);
    if (!known.has(name)) return false;
    const headers = readRawHeaders(incoming.rawHeaders);
    try {
      deps.auth.check(
        { authorization: headers.authorization, apiKey: headers["x-api-key"] },
        () => incoming.socket?.remoteAddress,
      );
    } catch {
      return false; // the middleware refuses it, with its error
    }
    const request = { requestId: requestIdOf(headers), method: "GET", path: url.slice(0, query) };
    readOne(deps, request, name, entityId).then(
      (response) => {
        outgoing.writeHead(response.status, response.headers);
        outgoing.end(response.body);
      },
      () => outgoing.destroy(), // not reached: readOne answers every failure with its error envelope
    );
    return true;
  };
}

async function readOne(
  deps: ServerDeps,
  request: RequestMeta & { method: string; path: string },
  name: string,
  entityId: string,
): Promise<PlainResponse> {
  const started = performance.now();
  deps.state.inFlight++;
  let response: PlainResponse;
  try {
    response = answer(deps, request, name, await deps.runtime.getFeatureValue(name, entityId));
  } catch (err) {
    response = errorParts(err, request, deps.log);
  } finally {
    deps.state.inFlight--;
  }
  const series = deps.metrics.requestSeries("GET", ONE_ROUTE, response.status);
  series.count.inc();
  series.latency.observe((performance.now() - started) / 1000);
  return response;
}

export function featureRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const names = [...deps.runtime.definitions.features.keys()].sort();
  const route = routes(names);
  // The hot path (featureReadLane) answers plain reads before this route is reached.
  serve(app, route.one, async (c) => {
    const name = c.req.param("name");
    const { entity_id: entityId, as_of: asOf, joined_by: joinedBy } = c.req.valid("query");
    const value =
      asOf === undefined
        ? await deps.runtime.getFeatureValue(name, entityId)
        : await deps.runtime.getFeatureAsOf(name, entityId, asOf, { knownTime: joinedBy === "known_time" });
    return toResponse(answer(deps, metaOf(c), name, value));
  });

  serve(app, route.push, async (c) => {
    const body = await readBody(
      c,
      PushBody,
      'Send e.g. {"feature": "user_tier", "entity_id": "u_1", "value": "gold"}.',
    );
    const items = "pushes" in body ? body.pushes : [body];
    const result = await deps.runtime.pushFeatureValues(
      items.map((p) => ({
        feature: p.feature,
        entityId: p.entity_id,
        value: (p.value ?? null) as JsonValue,
        ...(p.event_time === undefined ? {} : { eventTime: p.event_time }),
      })),
    );
    return sendJson(c, { written: result.written, cached: result.cached, run_id: result.runId });
  });

  serve(app, route.batch, async (c) => {
    const requests = await readBody(c, batchBody, 'Send e.g. {"features": ["user_tier"], "entity_ids": ["u_1"]}.');
    const results = await deps.runtime.getFeatures(requests);
    return sendJson(c, {
      results: results.map((r) => {
        if ("error" in r) return { name: r.name, entity_id: r.entityId, error: r.error.toJSON() };
        deps.metrics.featureRead(r.name, r.source);
        return featureValueJson(r);
      }),
    });
  });
}

/** The entity id of a URL whose query is exactly `entity_id=` + unreserved characters (RFC 3986), else null. */
export function plainEntityQuery(url: string): string | null {
  const q = url.indexOf("?");
  if (q === -1 || !url.startsWith("entity_id=", q + 1)) return null;
  const from = q + 11;
  return unreserved(url, from, url.length) ? url.slice(from) : null;
}

/** `text[from, to)` is not empty and only unreserved characters (RFC 3986: nothing a URL decoder would change). */
function unreserved(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    const plain =
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x41 && c <= 0x5a) || // A-Z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x2d || // -
      c === 0x2e || // .
      c === 0x5f || // _
      c === 0x7e; // ~
    if (!plain) return false;
  }
  return true;
}

/**
 * `{ "features": [...], "entity_ids": [...] }` (every feature for every entity; `entity_id` for one) or
 * `{ "requests": [{ "feature": ..., "entity_id": ... }] }`.
 */
function batchRequests(body: JsonObject): { feature: string; entityId: string }[] {
  let requests: { feature: string; entityId: string }[];
  if (body.requests !== undefined) {
    requests = stringPairs(body.requests);
  } else {
    const features = stringList(body.features, "features");
    const entities =
      body.entity_ids !== undefined
        ? entityList(body.entity_ids)
        : body.entity_id !== undefined
          ? [entityField(body.entity_id, '"entity_id"')]
          : null;
    if (entities === null)
      throw new FabraError("INVALID_ARGUMENT", "The body names no entities", {
        hint: 'Add "entity_ids": ["u_1", ...] (or "entity_id": "u_1").',
      });
    requests = entities.flatMap((entityId) => features.map((feature) => ({ feature, entityId })));
  }
  if (requests.length > MAX_BATCH) {
    throw new FabraError(
      "INVALID_ARGUMENT",
      `The batch asks for ${requests.length} reads; at most ${MAX_BATCH} are allowed per request`,
      { hint: "Split it into several requests." },
    );
  }
  return requests;
}

function stringList(v: JsonValue | undefined, field: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string")) {
    throw new FabraError("INVALID_ARGUMENT", `"${field}" must be a non-empty array of strings`, {
      hint: `Send e.g. "${field}": ["${field === "features" ? "user_tier" : "u_1"}"].`,
    });
  }
  return v as string[];
}

/** An entity id in a body: a non-empty string or a whole number (taken as its decimal string), as everywhere. */
function entityField(v: JsonValue | undefined, where: string): string {
  const id = entityIdOf(v);
  if (id === null)
    throw new FabraError("INVALID_ARGUMENT", `${where} must be a non-empty string (or a whole number)`, {
      hint: 'Send e.g. "entity_id": "u_1".',
    });
  return id;
}

function entityList(v: JsonValue): string[] {
  if (!Array.isArray(v) || v.length === 0)
    throw new FabraError("INVALID_ARGUMENT", '"entity_ids" must be a non-empty array of entity ids', {
      hint: 'Send e.g. "entity_ids": ["u_1", "u_2"].',
    });
  return v.map((x, i) => entityField(x, `"entity_ids"[${i}]`));
}

function stringPairs(v: JsonValue): { feature: string; entityId: string }[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new FabraError("INVALID_ARGUMENT", '"requests" must be a non-empty array', {
      hint: 'Send e.g. "requests": [{"feature": "user_tier", "entity_id": "u_1"}].',
    });
  }
  return v.map((item, i) => {
    const o = item as JsonObject;
    if (
      typeof item !== "object" ||
      item === null ||
      Array.isArray(item) ||
      typeof o.feature !== "string" ||
      o.entity_id === undefined
    ) {
      throw new FabraError("INVALID_ARGUMENT", `requests[${i}] needs string "feature" and "entity_id"`, {
        hint: 'Send e.g. {"feature": "user_tier", "entity_id": "u_1"}.',
      });
    }
    return { feature: o.feature, entityId: entityField(o.entity_id, `requests[${i}].entity_id`) };
  });
}
