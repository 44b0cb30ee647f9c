// The ledger's rows over HTTP (/v1/ledger/*): what `fabra context ...` in another terminal uses (through
// stores/records/remote.ts) while this server holds an embedded DuckDB file. Appends are verified first.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { FabraError } from "../../errors.js";
import { recordSummaryJson } from "../../api/shapes.js";
import { recordToRow, verifyLedgerRow } from "../../engine/ledger/ledger.js";
import { normalizeContextId } from "../../record/id.js";
import { readRecordText } from "../../record/read.js";
import { verifyOptionsFromEnv } from "../../record/verify-env.js";
import type { LedgerRow } from "../../stores/types.js";
import { sendJson } from "../http.js";
import { contextIdParam, ErrorSchema, errors, json, LedgerRowSchema, serve } from "../openapi.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { documented, query, readBody } from "../validate.js";
import { listFilters, MAX_LIST } from "./contexts.js";

const AppendBody = z.object({
  canonical_text: z.string({ error: (issue) => (issue.input === undefined ? 'The body is missing "canonical_text"' : '"canonical_text" in The body must be a string') }),
});

const route = {
  rows: createRoute({
    method: "get",
    path: "/v1/ledger/rows",
    summary: "Ledger rows with their canonical text (used by the CLI while the server holds the ledger)",
    request: { query: z.object({ ...listFilters, limit: query.int("limit", 100, MAX_LIST, `1..${MAX_LIST}, default 100`) }) },
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
    request: { query: z.object({ function: listFilters.function, since: listFilters.since, until: listFilters.until }) },
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

export function rowJson(r: LedgerRow) {
  return { ...recordSummaryJson(r), canonical_text: r.canonicalText };
}

export function ledgerRoutes(app: OpenAPIHono<AppEnv>, deps: ServerDeps): void {
  const records = () => deps.runtime.stores.records;

  serve(app, route.rows, async (c) => {
    const q = c.req.valid("query");
    const rows = await records().list({
      contextFunction: q.function,
      since: q.since,
      until: q.until,
      order: q.order,
      limit: q.limit,
      cursor: q.cursor,
    });
    return sendJson(c, { rows: rows.map(rowJson) });
  });

  serve(app, route.row, async (c) => {
    const row = await records().get(normalizeContextId(c.req.param("id")));
    if (!row) throw new FabraError("RECORD_NOT_FOUND", `No context record ${normalizeContextId(c.req.param("id"))} in the ledger`, { hint: "GET /v1/contexts lists the records there." });
    return sendJson(c, rowJson(row));
  });

  serve(app, route.count, async (c) => {
    const q = c.req.valid("query");
    const count = await records().count({ contextFunction: q.function, since: q.since, until: q.until });
    return sendJson(c, { count });
  });

  serve(app, route.append, async (c) => {
    const text = (await readBody(c, AppendBody, 'Send {"canonical_text": "<the record as `fabra context export` writes it>"}.')).canonical_text;
    const record = readRecordText(text, "canonical_text");
    const row = recordToRow(record);
    if (row.canonicalText !== text) {
      throw new FabraError("INVALID_RECORD", `canonical_text of ${record.context_id} is not in CRS-001 canonical form`, { hint: "Send the record as `fabra context export` writes it." });
    }
    normalizeContextId(record.context_id);
    const verification = verifyLedgerRow(row, verifyOptionsFromEnv(process.env, deps.runtime.settings.signing.mode));
    if (!verification.ok) {
      throw new FabraError("VERIFICATION_FAILED", `${record.context_id}: ${verification.failed?.name} mismatch (expected ${verification.failed?.expected}, actual ${verification.failed?.actual}); not appended`, {
        hint: "Only intact records enter the ledger.",
      });
    }
    return sendJson(c, { context_id: row.contextId, outcome: await records().append(row) });
  });
}
