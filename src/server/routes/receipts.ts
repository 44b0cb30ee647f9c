// Receipts and outcomes over HTTP: POST /v1/receipts records a prompt another language built (answering like POST
// /v1/context/:name), and /v1/contexts/:id/outcomes lists or appends the model-call outcomes linked to a record.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { assemblyJson } from "../../api/contexts.js";
import { outcomeBodyShape, outcomeFromBody, outcomeJson, outcomeListShape, outcomeShape } from "../../api/outcomes.js";
import { FabraError } from "../../errors.js";
import { isJsonObject, toPlain, type JsonObject } from "../../record/json.js";
import type { ContextMessage } from "../../define/types.js";
import type { ReceiptFeature } from "../../engine/context/receipt.js";
import { readJsonObject, sendJson } from "../http.js";
import { Assembly, contextIdParam, errors, json, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { documented, readBody } from "../validate.js";

const ReceiptBody = z.object({
  context_function: z.string().min(1),
  content: z.string().optional(),
  messages: z
    .array(z.object({ role: z.enum(["system", "user", "assistant", "tool"]), content: z.string() }))
    .optional(),
  inputs: z.record(z.string(), z.unknown()),
  features: z
    .array(
      z.object({
        name: z.string(),
        entity_id: z.string(),
        value: z.unknown(),
        source: z.enum(["cache", "compute", "fallback"]).optional(),
        as_of: z.string().optional(),
      }),
    )
    .optional(),
  model: z.string().optional(),
});

const RECEIPT_HINT =
  'Send {"context_function": "supportPrompt", "content": "<the prompt as sent>" (or "messages": [{"role": "system", "content": "..."}]), "inputs": {...}}.';

const route = {
  receipt: createRoute({
    method: "post",
    path: "/v1/receipts",
    summary: "Record a prompt built outside fabra as a CRS-001 record (a receipt)",
    request: { body: { required: true, ...json(documented(ReceiptBody), "The prompt, its inputs and features") } },
    responses: { 200: json(Assembly, "The receipt's context id and hashes"), ...errors(400, 401, 413, 503) },
  }),
  outcomes: createRoute({
    method: "get",
    path: "/v1/contexts/{id}/outcomes",
    summary: "The model-call outcomes linked to a record, oldest first (the record itself is unchanged)",
    request: { params: contextIdParam },
    responses: {
      200: json(documented(outcomeListShape), "The outcome entries"),
      ...errors(400, 401, 404),
    },
  }),
  addOutcome: createRoute({
    method: "post",
    path: "/v1/contexts/{id}/outcomes",
    summary: "Link a model call's outcome to a record",
    request: {
      params: contextIdParam,
      body: { required: true, ...json(documented(outcomeBodyShape), "What the model call answered") },
    },
    responses: { 200: json(documented(outcomeShape), "The outcome entry as stored"), ...errors(400, 401, 404, 413) },
  }),
};

export function receiptRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const { runtime } = deps;

  serve(app, route.receipt, async (c) => {
    const raw = await readJsonObject(c, "The receipt");
    const body = ReceiptBody.safeParse(toPlain(raw));
    if (!body.success) {
      throw new FabraError("INVALID_ARGUMENT", `The receipt is not valid: ${body.error.issues[0]?.message ?? ""}`, {
        hint: RECEIPT_HINT,
      });
    }
    // The inputs as sent, kind-preserving (12.0 stays a float in the record).
    const inputs = isJsonObject(raw.inputs) ? raw.inputs : ({} as JsonObject);
    const features: ReceiptFeature[] | undefined = body.data.features?.map((f, i) => {
      const sent = (raw.features as JsonObject[] | undefined)?.[i];
      return { name: f.name, entityId: f.entity_id, value: sent?.value ?? null, source: f.source, asOf: f.as_of };
    });
    const result = await runtime.record({
      contextFunction: body.data.context_function,
      content: body.data.content,
      messages: body.data.messages as ContextMessage[] | undefined,
      inputs,
      features,
      model: body.data.model,
    });
    return sendJson(c, assemblyJson(result));
  });

  serve(app, route.outcomes, async (c) => {
    const row = await runtime.ledger.row(c.req.param("id"));
    const outcomes = await runtime.outcomes(row.contextId);
    return sendJson(c, { context_id: row.contextId, outcomes: outcomes.map(outcomeJson) });
  });

  serve(app, route.addOutcome, async (c) => {
    const body = await readBody(
      c,
      outcomeBodyShape,
      'Send {"provider": "python", "response_id": "...", "model": "...", "latency_ms": 812.5, "finish_reason": "stop", "output_text": "..."}.',
    );
    return sendJson(c, outcomeJson(await runtime.recordOutcome(c.req.param("id"), outcomeFromBody(body))));
  });
}
