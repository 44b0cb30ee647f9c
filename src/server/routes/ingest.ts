// Ingested events: POST /v1/ingest/{event} (the Python implementation's route) enqueues an event that recomputes
// the features declaring it in `triggers` for its entity, and answers 202 once the queue holds it (XADD done on
// Redis; in the in-process queue in local mode). Two body forms:
//   - the Python one: `?entity_id=u_1` (and optionally `&event_time=`), the body being the event's payload object;
//   - fabra's: `{"entity_id": "u_1", "payload": {...}?, "event_time": "..."?}`.
// The answer is the Python one, `{"msg_id", "event_id"}`, plus the features the event recomputes (an event type no
// feature declares is accepted with `features: []`, as the Python route accepts it).
// GET /v1/ingest/dead-letter lists the events set aside (malformed, or failed too often) with the reason, and
// POST /v1/ingest/dead-letter/retry puts them (all, or the ids given) back on their streams.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { eventTriggers } from "../../engine/features/ingest.js";
import { FabraError } from "../../errors.js";
import type { JsonValue } from "../../record/json.js";
import { deadLetterJson } from "../../api/ingest.js";
import { readJsonObject, sendJson } from "../http.js";
import { ENTITY_ID, errors, json, pathParam, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { documented, query, readBody } from "../validate.js";

const Envelope = z.strictObject({
  entity_id: z.unknown().optional().meta(ENTITY_ID),
  payload: z.unknown().optional().meta({ type: "object", description: "The event's data (a JSON object)" }),
  event_time: z.string().optional().meta({ description: "When it happened (ISO-8601; default: now)" }),
});
const ENVELOPE_HINT =
  'Send {"entity_id": "u_1", "payload": {...}, "event_time": "2026-03-01T09:00:00Z"} (payload and event_time optional), or the payload as the body with ?entity_id=u_1 (the Python form).';

const RetryBody = z.strictObject({ ids: z.array(z.string()).min(1).optional() });

function routes(events: readonly string[]) {
  return {
    ingest: createRoute({
      method: "post",
      path: "/v1/ingest/{event}",
      summary:
        "Ingest an event: the features declaring it in `triggers` are recomputed for its entity (202 once queued)",
      request: {
        // Any event type is accepted (as in Python); those some feature declares are named in the description.
        params: z.object({
          event: pathParam(
            `Event type (letters, digits, underscores)${events.length > 0 ? `; declared: ${events.join(", ")}` : ""}`,
          ),
        }),
        query: z.object({
          entity_id: query.text("The entity (the Python form: the body is then the payload)"),
          event_time: query.text("When it happened, with ?entity_id= (ISO-8601; default: now)"),
        }),
        body: {
          required: false,
          ...json(
            { oneOf: [documented(Envelope), { type: "object", description: "The payload (with ?entity_id=)" }] },
            "The event, or (with ?entity_id=) its payload",
          ),
        },
      },
      responses: {
        202: json(
          z.object({ msg_id: z.string(), event_id: z.string(), features: z.array(z.string()) }),
          "Queued: the queue's entry id, the event's id and the features it recomputes",
        ),
        ...errors(400, 401, 413, 503),
      },
    }),
    deadLetters: createRoute({
      method: "get",
      path: "/v1/ingest/dead-letter",
      summary: "Ingested events set aside (malformed, or failed too often), oldest first, with the reason",
      request: { query: z.object({ limit: query.int("limit", 100, 10_000, "Most entries returned") }) },
      responses: { 200: json(z.object({ dead_letters: z.array(z.object({})) }), "The dead letters"), ...errors(401) },
    }),
    retry: createRoute({
      method: "post",
      path: "/v1/ingest/dead-letter/retry",
      summary: "Put dead letters (all, or `ids`) back on their streams to be recomputed again",
      request: { body: { required: false, ...json(documented(RetryBody), "Which ones (default: all)") } },
      responses: { 200: json(z.object({ retried: z.int() }), "How many were put back"), ...errors(400, 401) },
    }),
  };
}

export function ingestRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const declared = eventTriggers(deps.runtime.definitions);
  const route = routes([...declared.keys()]);

  serve(app, route.ingest, async (c) => {
    const event = c.req.param("event");
    const { entity_id: entityId, event_time: eventTime } = c.req.valid("query");
    let input: { entityId: unknown; payload?: JsonValue; eventTime?: string };
    if (entityId !== undefined) {
      // The Python form: the whole body is the payload.
      const payload = await readJsonObject(c, "The payload", true);
      input = { entityId, payload, ...(eventTime === undefined ? {} : { eventTime }) };
    } else {
      if (eventTime !== undefined)
        throw new FabraError("INVALID_ARGUMENT", "?event_time= goes with ?entity_id=", { hint: ENVELOPE_HINT });
      const body = await readBody(c, Envelope, ENVELOPE_HINT);
      input = {
        entityId: body.entity_id,
        ...(body.payload === undefined ? {} : { payload: body.payload as JsonValue }),
        ...(body.event_time === undefined ? {} : { eventTime: body.event_time }),
      };
    }
    const accepted = await deps.runtime.ingest(event, input);
    deps.metrics.ingestReceived.inc({ event: declared.has(event) ? event : "(undeclared)" });
    return sendJson(c, { msg_id: accepted.msgId, event_id: accepted.eventId, features: accepted.features }, 202);
  });

  serve(app, route.deadLetters, async (c) => {
    const { limit } = c.req.valid("query");
    const letters = await deps.runtime.stores.events.deadLetters(limit);
    return sendJson(c, { dead_letters: letters.map(deadLetterJson) });
  });

  serve(app, route.retry, async (c) => {
    const body = await readBody(c, RetryBody, 'Send {} to retry all, or {"ids": ["<dead letter id>"]}.', true);
    return sendJson(c, { retried: await deps.runtime.stores.events.retryDeadLetters(body.ids) });
  });
}
