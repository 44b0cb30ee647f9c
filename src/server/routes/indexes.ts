// Vector indexes over HTTP (/v1/indexes/*). Reading (indexes, an index's documents) is for any credential. Writing
// (adding documents, removing them, pruning, dropping an index) exists only on a server holding the local DuckDB
// file and takes only the per-run token of its state file: it is `fabra index add|remove|drop` in another terminal
// while this server holds the file (see src/remote/). On a shared store every process writes the index itself.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { FabraError } from "../../errors.js";
import { requireIndexName } from "../../engine/retrieval/hygiene.js";
import { sendJson } from "../http.js";
import { errors, json, pathParam, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { documented, readBody } from "../validate.js";

/** A request of `fabra index add` carries up to this many bytes of documents (the CLI sends batches below it). */
export const INDEX_BODY_LIMIT = 32 * 1024 * 1024;

const nameParam = z.object({ name: pathParam("The index name (letters, digits, _ . -)") });

const AddBody = z.object({
  documents: z
    .array(
      z.object({
        id: z.string().min(1),
        content: z.string(),
        source_url: z.string().nullable().optional(),
      }),
    )
    .max(100_000),
});
const IdsBody = z.object({ document_ids: z.array(z.string().min(1)).min(1).max(100_000) });
const PruneBody = z.object({ kept: z.array(z.string()).max(1_000_000) });

const Removed = z.object({ documents: z.array(z.string()), chunks: z.int() });

const route = {
  list: createRoute({
    method: "get",
    path: "/v1/indexes",
    summary: "Vector indexes with their chunk counts and dimensions",
    responses: {
      200: json(
        z.object({ indexes: z.array(z.object({ name: z.string(), chunks: z.int(), dimensions: z.int() })) }),
        "The indexes",
      ),
      ...errors(401),
    },
  }),
  documents: createRoute({
    method: "get",
    path: "/v1/indexes/{name}/documents",
    summary: "The documents an index holds (id, document hash, source, chunks)",
    request: { params: nameParam },
    responses: {
      200: json(
        z.object({
          documents: z.array(
            z.object({
              document_id: z.string(),
              document_hash: z.string().nullable(),
              source_url: z.string().nullable(),
              chunks: z.int(),
            }),
          ),
        }),
        "The documents",
      ),
      ...errors(400, 401),
    },
  }),
  add: createRoute({
    method: "post",
    path: "/v1/indexes/{name}/documents",
    summary:
      "Chunk, embed and index documents (each replaces its old chunks; unchanged ones are skipped). Only on a server holding a local DuckDB file, and only with the per-run token from its state file",
    request: { params: nameParam, body: { required: true, ...json(documented(AddBody), "The documents") } },
    responses: {
      200: json(z.object({ documents: z.int(), chunks: z.int(), skipped: z.int() }), "Indexed"),
      ...errors(400, 401, 403, 413),
    },
  }),
  remove: createRoute({
    method: "post",
    path: "/v1/indexes/{name}/documents/remove",
    summary: "Remove documents from an index (all must be there, or nothing is removed). Local token only, as above",
    request: { params: nameParam, body: { required: true, ...json(documented(IdsBody), "The document ids") } },
    responses: { 200: json(Removed, "Removed"), ...errors(400, 401, 403, 404) },
  }),
  prune: createRoute({
    method: "post",
    path: "/v1/indexes/{name}/prune",
    summary:
      "Remove the documents not in `kept` whose source file no longer exists (`fabra index add --prune`). Local token only, as above",
    request: { params: nameParam, body: { required: true, ...json(documented(PruneBody), "The documents kept") } },
    responses: { 200: json(Removed, "Pruned"), ...errors(400, 401, 403) },
  }),
  drop: createRoute({
    method: "delete",
    path: "/v1/indexes/{name}",
    summary: "Drop an index and all its chunks. Local token only, as above",
    request: { params: nameParam },
    responses: { 200: json(z.object({ chunks: z.int() }), "Dropped"), ...errors(400, 401, 403, 404) },
  }),
};

export function indexRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const fabra = deps.runtime;
  serve(app, route.list, async (c) => sendJson(c, { indexes: await fabra.stores.vector.listIndexes() }));
  serve(app, route.documents, async (c) => {
    const docs = await fabra.index.documents(requireIndexName(c.req.param("name")));
    return sendJson(c, {
      documents: docs.map((d) => ({
        document_id: d.documentId,
        document_hash: d.documentHash,
        source_url: d.sourceUrl,
        chunks: d.chunks,
      })),
    });
  });

  if (!deps.ledgerWrites) return;
  serve(app, route.add, async (c) => {
    requireLocalToken(c);
    const name = requireIndexName(c.req.param("name"));
    c.set("bodyLimit", Math.max(c.get("bodyLimit"), INDEX_BODY_LIMIT));
    const body = await readBody(c, AddBody, 'Send {"documents": [{"id": "docs/a.md", "content": "..."}]}.');
    // The graph of a large index is rebuilt after the response, in steps between requests (minutes for 100k
    // chunks); search is an exact scan until it is done, and a later write starts it over.
    const result = await fabra.index.add(
      name,
      body.documents.map((d) => ({ id: d.id, content: d.content, sourceUrl: d.source_url ?? null })),
      undefined,
      { optimize: false },
    );
    if (result.chunks > 0) void fabra.index.optimize(name).catch(() => undefined);
    return sendJson(c, { documents: result.documents, chunks: result.chunks, skipped: result.skipped });
  });
  serve(app, route.remove, async (c) => {
    requireLocalToken(c);
    const name = requireIndexName(c.req.param("name"));
    const body = await readBody(c, IdsBody, 'Send {"document_ids": ["docs/a.md"]}.');
    const removed = await fabra.index.remove(name, body.document_ids);
    void fabra.index.optimize(name).catch(() => undefined); // as after an add
    return sendJson(c, removed);
  });
  serve(app, route.prune, async (c) => {
    requireLocalToken(c);
    const name = requireIndexName(c.req.param("name"));
    c.set("bodyLimit", Math.max(c.get("bodyLimit"), INDEX_BODY_LIMIT));
    const body = await readBody(c, PruneBody, 'Send {"kept": ["docs/a.md", ...]} (the documents of this run).');
    const pruned = await fabra.index.prune(name, new Set(body.kept));
    void fabra.index.optimize(name).catch(() => undefined); // as after an add
    return sendJson(c, pruned);
  });
  serve(app, route.drop, async (c) => {
    requireLocalToken(c);
    return sendJson(c, await fabra.index.drop(requireIndexName(c.req.param("name"))));
  });
}

/** Index writes beside this server are its CLI's: the per-run token from the state file, not an API key. */
function requireLocalToken(c: Context<AppEnv>): void {
  if (c.get("credential") === "local-token") return;
  throw new FabraError("FORBIDDEN", "Only `fabra index ...` on this server's host may change its indexes", {
    hint: "Run `fabra index add|remove|drop` on the server's host (it reads the state file's token), or stop the server and run it there.",
  });
}
