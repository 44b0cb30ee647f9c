// The incident desk's questions over HTTP (the viewer's controls call these too): what a record would have kept at
// another budget (POST /v1/contexts/:id/explain; re-run on the record's own data, nothing written) and the pack for
// a ticket (GET /v1/contexts/:id/pack[?baseline=ID], a zip). Read-only, behind the same auth as every /v1 route.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { explanationJson } from "../../api/explain.js";
import { packDownloadHeaders } from "../../api/pack-download.js";
import { explainContext } from "../../engine/context/explain.js";
import { buildPack } from "../../engine/ledger/pack.js";
import { sendJson } from "../http.js";
import { contextIdParam, errors, json, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { parseMaxTokens } from "../../util/max-tokens.js";
import { documented, parsedBy, query, readBody } from "../validate.js";

const strategy = z.enum(["drop", "backfill"]).optional();
/** The body as documented; it is read by ExplainBodyParsed, whose budget goes through the one parser. */
const ExplainBody = z.object({ max_tokens: z.int().min(1).nullable(), strategy });
const ExplainBodyParsed = z.object({
  max_tokens: z.unknown().transform(parsedBy((v) => parseMaxTokens(v, "max_tokens", "json"))),
  strategy,
});

const Explanation = z
  .object({
    context_id: z.string(),
    strategy: z.enum(["drop", "backfill"]),
    recorded: z.object({}),
    explained: z.object({}),
    items: z.array(z.object({})),
    content: z.string(),
    reproduces: z.boolean(),
  })
  .partial()
  .openapi("Explanation");

const route = {
  explain: createRoute({
    method: "post",
    path: "/v1/contexts/{id}/explain",
    summary:
      "What the record would have kept and dropped at another token budget (its function re-run on its own inputs, features and chunks; nothing written)",
    request: {
      params: contextIdParam,
      body: { required: true, ...json(documented(ExplainBody), "The budget to try, and the strategy") },
    },
    responses: {
      200: json(Explanation, "Both budgets' token ledgers and every item's fate"),
      ...errors(400, 401, 404, 422),
    },
  }),
  pack: createRoute({
    method: "get",
    path: "/v1/contexts/{id}/pack",
    summary:
      "A zip for a ticket: the record, its inclusion proof and checkpoint, summary.md, and a diff.patch with ?baseline",
    request: {
      params: contextIdParam,
      query: z.object({ baseline: query.text("Another context id: add a diff.patch from it to this record") }),
    },
    responses: {
      200: {
        description: "The pack",
        content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } },
      },
      ...errors(400, 401, 404, 422),
    },
  }),
};

export function incidentRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const runtime = deps.runtime;

  serve(app, route.explain, async (c) => {
    const body = await readBody(c, ExplainBodyParsed, 'Send {"max_tokens": 4000} (or null for no budget).');
    const explanation = await explainContext(runtime, c.req.param("id"), {
      maxTokens: body.max_tokens,
      strategy: body.strategy,
    });
    return sendJson(c, explanationJson(explanation));
  });

  serve(app, route.pack, async (c) => {
    const id = c.req.param("id");
    const bytes = await buildPack(runtime.ledger, id, {
      baseline: c.req.valid("query").baseline,
      log: runtime.logSettings,
    });
    return new Response(bytes, {
      status: 200,
      headers: { ...packDownloadHeaders(id), "x-request-id": c.get("requestId") ?? "" },
    });
  });
}
