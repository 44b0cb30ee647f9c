// The ledger's rows over HTTP (/v1/ledger/*): what `fabra context ...` in another terminal uses (through
// stores/remote/) while this server holds an embedded DuckDB file. Appends are verified first, by the runtime's Ledger.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ledgerAppendJson, ledgerRowJson } from "../../api/ledger-rows.js";
import { sendJson } from "../http.js";
import { contextIdParam, ErrorSchema, errors, json, LedgerRowSchema, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { documented, query, readBody } from "../validate.js";
import { listFilters, MAX_LIST } from "./contexts.js";

const AppendBody = z.object({
  canonical_text: z.string({
    error: (issue) =>
      issue.input === undefined
        ? 'The body is missing "canonical_text"'
        : '"canonical_text" in The body must be a string',
  }),
});

const route = {
  rows: createRoute({
    method: "get",
    path: "/v1/ledger/rows",
    summary: "Ledger rows with their canonical text (used by the CLI while the server holds the ledger)",
    request: {
      query: z.object({ ...listFilters, limit: query.int("limit", 100, MAX_LIST, `1..${MAX_LIST}, default 100`) }),
    },
    responses: { 200: json(z.object({ rows: z.array(LedgerRowSchema) }), "Rows"), ...errors(400, 401) },
  }),
  row: createRoute({
    method: "get",
    path: "/v1/ledger/rows/{id}",
    summary: "One ledger row",
    request: { params: contextIdParam },
    responses: { 200: json(LedgerRowSchema, "The row"), ...errors(400, 401, 404) },
  }),
  count: createRoute({
    method: "get",
    path: "/v1/ledger/count",
    summary: "How many records match",
    request: {
      query: z.object({ function: listFilters.function, since: listFilters.since, until: listFilters.until }),
    },
    responses: { 200: json(z.object({ count: z.int() }), "The count"), ...errors(400, 401) },
  }),
  append: createRoute({
    method: "post",
    path: "/v1/ledger/rows",
    summary: "Append a record (verified first; appending the same record again is a no-op)",
    request: { body: { required: true, ...json(documented(AppendBody), "The record in canonical form") } },
    responses: {
      200: json(z.object({ context_id: z.string(), outcome: z.enum(["inserted", "exists"]) }), "Appended"),
      409: json(ErrorSchema, "Same id, different record"),
      ...errors(400, 401, 413, 422),
    },
  }),
};

export function ledgerRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const ledger = deps.runtime.ledger;

  serve(app, route.rows, async (c) => {
    const q = c.req.valid("query");
    const rows = await ledger.list({
      contextFunction: q.function,
      since: q.since,
      until: q.until,
      order: q.order,
      limit: q.limit,
      cursor: q.cursor,
    });
    return sendJson(c, { rows: rows.map(ledgerRowJson) });
  });

  serve(app, route.row, async (c) => {
    return sendJson(c, ledgerRowJson(await ledger.row(c.req.param("id"))));
  });

  serve(app, route.count, async (c) => {
    const q = c.req.valid("query");
    const count = await ledger.count({ contextFunction: q.function, since: q.since, until: q.until });
    return sendJson(c, { count });
  });

  serve(app, route.append, async (c) => {
    const text = (
      await readBody(c, AppendBody, 'Send {"canonical_text": "<the record as `fabra context export` writes it>"}.')
    ).canonical_text;
    const { contextId, outcome } = await ledger.appendCanonical(text, "canonical_text");
    return sendJson(c, ledgerAppendJson(contextId, outcome));
  });
}
