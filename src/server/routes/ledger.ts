// The ledger's rows over HTTP (/v1/ledger/*): what `fabra context ...` in another terminal uses (through
// stores/remote/) while this server holds an embedded DuckDB file. Only context assembly produces records, so the
// append route exists only on such a server and takes only the per-run token from the state file (never an API key):
// it is that CLI's own ledger write. Appends are verified first, by the runtime's Ledger.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { FabraError } from "../../errors.js";
import { ledgerAppendJson, ledgerRowJson } from "../../api/ledger-rows.js";
import { sendJson } from "../http.js";
import { contextIdParam, ErrorSchema, errors, json, LedgerRowSchema, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { documented, query, readBody } from "../validate.js";
import { filterOfQuery, listFilters, MAX_LIST } from "./contexts.js";

const AppendBody = z.object({
  canonical_text: z.string({
    error: (issue) =>
      issue.input === undefined
        ? 'The body is missing "canonical_text"'
        : '"canonical_text" in The body must be a string',
  }),
  /** Set by `fabra context import` (an operator's explicit action): the row is marked imported. */
  imported: z.boolean({ error: '"imported" in The body must be true or false' }).optional(),
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
      query: z.object({
        function: listFilters.function,
        since: listFilters.since,
        until: listFilters.until,
        input: listFilters.input,
        feature: listFilters.feature,
        status: listFilters.status,
        has_drops: listFilters.has_drops,
        replays_of: listFilters.replays_of,
      }),
    },
    responses: { 200: json(z.object({ count: z.int() }), "The count"), ...errors(400, 401) },
  }),
  append: createRoute({
    method: "post",
    path: "/v1/ledger/rows",
    summary:
      "Append a record (verified first; appending the same record again is a no-op). Only on a server holding a local DuckDB ledger, and only with the per-run token from its state file",
    request: { body: { required: true, ...json(documented(AppendBody), "The record in canonical form") } },
    responses: {
      200: json(z.object({ context_id: z.string(), outcome: z.enum(["inserted", "exists"]) }), "Appended"),
      409: json(ErrorSchema, "Same id, different record"),
      ...errors(400, 401, 403, 413, 422),
    },
  }),
};

export function ledgerRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const ledger = deps.runtime.ledger;

  serve(app, route.rows, async (c) => {
    const q = c.req.valid("query");
    const rows = await ledger.list({
      ...filterOfQuery(q),
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
    const count = await ledger.count(filterOfQuery(q));
    return sendJson(c, { count });
  });

  // On a shared ledger (Postgres) every process appends itself: no write route at all (404).
  if (!deps.ledgerWrites) return;
  serve(app, route.append, async (c) => {
    requireLocalToken(c);
    // Only `fabra context ...` beside this server gets here (the state file's token): its records may be as large as
    // the ledger accepts (as canonical text inside a JSON string: at most twice the record's size).
    c.set("bodyLimit", Math.max(c.get("bodyLimit"), 2 * ledger.maxRecordBytes + 64 * 1024));
    const body = await readBody(
      c,
      AppendBody,
      'Send {"canonical_text": "<the record as `fabra context export` writes it>"}.',
    );
    const { contextId, outcome } = await ledger.appendCanonical(body.canonical_text, "canonical_text", {
      imported: body.imported === true,
    });
    return sendJson(c, ledgerAppendJson(contextId, outcome));
  });
}

/** Ledger writes are the CLI's beside this server: the per-run token from the state file, not an API key. */
function requireLocalToken(c: Context<AppEnv>): void {
  if (c.get("credential") === "local-token") return;
  throw new FabraError("FORBIDDEN", "Only `fabra context ...` on this server's host may append ledger rows", {
    hint: "Records are produced by context assembly (POST /v1/contexts/{name}); an API key cannot write the ledger. `fabra context import` on the server's host (which reads the state file's token) brings in record files.",
  });
}
