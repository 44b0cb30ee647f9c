// The transparency log over HTTP (spec/TLOG-001.md), read-only and behind the same auth as every /v1 route:
// the current signed checkpoint (with a consistency proof from an earlier size, for monitors) and a record's
// offline inclusion proof.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { sendJson } from "../http.js";
import { contextIdParam, errors, json, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { query } from "../validate.js";

const Base64Hash = z.string().describe("A SHA-256 hash, standard base64");

const CheckpointSchema = z.object({
  checkpoint: z.string().describe("The signed note: a C2SP tlog-checkpoint signed with Ed25519"),
  tree_size: z.int(),
  root_hash: Base64Hash,
  consistency: z
    .object({ from_size: z.int(), hashes: z.array(Base64Hash) })
    .optional()
    .describe("With ?since=N: the RFC 6962 consistency proof from the tree of N leaves to this one"),
});

const ProofSchema = z.object({
  format: z.literal("fabra-tlog-inclusion-proof/v1"),
  context_id: z.string(),
  leaf_index: z.int(),
  tree_size: z.int(),
  hashes: z.array(Base64Hash).describe("The RFC 6962 audit path, leaf to root"),
  checkpoint: z.string(),
});

const route = {
  checkpoint: createRoute({
    method: "get",
    path: "/v1/ledger/checkpoint",
    summary: "The current signed tree head of the transparency log (pending records are integrated first)",
    request: {
      query: z.object({
        since: query.int("since", 0, Number.MAX_SAFE_INTEGER, "an earlier tree size: include a consistency proof"),
      }),
    },
    responses: { 200: json(CheckpointSchema, "The signed checkpoint"), ...errors(400, 401) },
  }),
  proof: createRoute({
    method: "get",
    path: "/v1/contexts/{id}/proof",
    summary: "An offline inclusion proof of the record under a fresh signed checkpoint",
    request: { params: contextIdParam },
    responses: { 200: json(ProofSchema, "The proof file"), ...errors(400, 401, 404) },
  }),
};

export function transparencyLogRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const runtime = deps.runtime;
  const log = () => runtime.ledger.transparencyLog(runtime.logSettings);

  serve(app, route.checkpoint, async (c) => {
    const since = c.req.valid("query").since;
    const tlog = log();
    const { note, checkpoint } = await tlog.checkpoint();
    const body: z.infer<typeof CheckpointSchema> = {
      checkpoint: note,
      tree_size: checkpoint.size,
      root_hash: Buffer.from(checkpoint.rootHash).toString("base64"),
    };
    if (since > 0) {
      const hashes = await tlog.consistency(since, checkpoint.size);
      body.consistency = { from_size: since, hashes: hashes.map((h) => Buffer.from(h).toString("base64")) };
    }
    return sendJson(c, body);
  });

  serve(app, route.proof, async (c) => sendJson(c, await log().prove(c.req.param("id"))));
}
