// Feature reads: GET /v1/features/:name?entity_id= (cache, else computed on the miss; ?as_of= reads history) and
// POST /v1/features (many features × entities in one call; each result carries its own error).
import type { Hono } from "hono";
import { FabraError } from "../../errors.js";
import { featureValueJson } from "../../api/shapes.js";
import { entityIdOf } from "../../engine/features/entity-id.js";
import type { JsonObject, JsonValue } from "../../record/json.js";
import { JSON_TYPE, queryDatetime, readJsonObject, requiredQuery, respond, sendJson } from "../http.js";
import type { AppEnv, ServerDeps } from "../types.js";

/** Most reads one batch request may ask for. */
export const MAX_BATCH = 1000;

export function featureRoutes(app: Hono<AppEnv>, deps: ServerDeps): void {
  app.get("/v1/features/:name", async (c) => {
    const name = c.req.param("name");
    const entityId = requiredQuery(c, "entity_id", "u_1");
    const asOf = queryDatetime(c, "as_of");
    const value = asOf === undefined ? await deps.runtime.getFeatureValue(name, entityId) : await deps.runtime.getFeatureAsOf(name, entityId, asOf);
    deps.metrics.featureReads.inc({ feature: name, source: value.source });
    const body = featureValueJson(value);
    // A scalar value needs no kind-preserving serializer (the hot path: one cached string or number).
    return typeof body.value === "object" || typeof body.value === "bigint" ? sendJson(c, body) : respond(c, JSON.stringify(body), 200, JSON_TYPE);
  });

  app.post("/v1/features", async (c) => {
    const requests = batchRequests(await readJsonObject(c, "The body"));
    const results = await deps.runtime.getFeatures(requests);
    return sendJson(c, {
      results: results.map((r) => {
        if ("error" in r) return { name: r.name, entity_id: r.entityId, error: r.error.toJSON() };
        deps.metrics.featureReads.inc({ feature: r.name, source: r.source });
        return featureValueJson(r);
      }),
    });
  });
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
    const entities = body.entity_ids !== undefined ? entityList(body.entity_ids) : body.entity_id !== undefined ? [entityField(body.entity_id, '"entity_id"')] : null;
    if (entities === null) throw new FabraError("INVALID_ARGUMENT", 'The body names no entities', { hint: 'Add "entity_ids": ["u_1", ...] (or "entity_id": "u_1").' });
    requests = entities.flatMap((entityId) => features.map((feature) => ({ feature, entityId })));
  }
  if (requests.length > MAX_BATCH) {
    throw new FabraError("INVALID_ARGUMENT", `The batch asks for ${requests.length} reads; at most ${MAX_BATCH} are allowed per request`, { hint: "Split it into several requests." });
  }
  return requests;
}

function stringList(v: JsonValue | undefined, field: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string")) {
    throw new FabraError("INVALID_ARGUMENT", `"${field}" must be a non-empty array of strings`, { hint: `Send e.g. "${field}": ["${field === "features" ? "user_tier" : "u_1"}"].` });
  }
  return v as string[];
}

/** An entity id in a body: a non-empty string or a whole number (taken as its decimal string), as everywhere. */
function entityField(v: JsonValue | undefined, where: string): string {
  const id = entityIdOf(v);
  if (id === null) throw new FabraError("INVALID_ARGUMENT", `${where} must be a non-empty string (or a whole number)`, { hint: 'Send e.g. "entity_id": "u_1".' });
  return id;
}

function entityList(v: JsonValue): string[] {
  if (!Array.isArray(v) || v.length === 0) throw new FabraError("INVALID_ARGUMENT", '"entity_ids" must be a non-empty array of entity ids', { hint: 'Send e.g. "entity_ids": ["u_1", "u_2"].' });
  return v.map((x, i) => entityField(x, `"entity_ids"[${i}]`));
}

function stringPairs(v: JsonValue): { feature: string; entityId: string }[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new FabraError("INVALID_ARGUMENT", '"requests" must be a non-empty array', { hint: 'Send e.g. "requests": [{"feature": "user_tier", "entity_id": "u_1"}].' });
  }
  return v.map((item, i) => {
    const o = item as JsonObject;
    if (typeof item !== "object" || item === null || Array.isArray(item) || typeof o.feature !== "string" || o.entity_id === undefined) {
      throw new FabraError("INVALID_ARGUMENT", `requests[${i}] needs string "feature" and "entity_id"`, { hint: 'Send e.g. {"feature": "user_tier", "entity_id": "u_1"}.' });
    }
    return { feature: o.feature, entityId: entityField(o.entity_id, `requests[${i}].entity_id`) };
  });
}
