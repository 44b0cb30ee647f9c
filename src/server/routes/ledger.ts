// The ledger's rows over HTTP (/v1/ledger/*): what `fabra context ...` in another terminal uses (through
// stores/remote/) while this server holds an embedded DuckDB file. Appends are verified first, by the runtime's Ledger.
import type { Hono } from "hono";
import { ledgerAppendJson, ledgerRowJson } from "../../api/ledger-rows.js";
import { recordSummaryJson } from "../../api/shapes.js";
import { normalizeContextId } from "../../record/id.js";
import type { LedgerRow } from "../../stores/types.js";
import { queryChoice, queryDatetime, queryInt, queryString, readJsonObject, sendJson, stringField } from "../http.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { MAX_LIST } from "./contexts.js";

export function ledgerRoutes(app: Hono<AppEnv>, deps: ServerDeps): void {
  const ledger = deps.runtime.ledger;

  app.get("/v1/ledger/rows", async (c) => {
    const cursor = queryString(c, "cursor");
    const rows = await ledger.list({
      contextFunction: queryString(c, "function"),
      since: queryDatetime(c, "since"),
      until: queryDatetime(c, "until"),
      order: queryChoice(c, "order", ["desc", "asc"] as const, "desc"),
      limit: queryInt(c, "limit", 100, MAX_LIST),
      cursor: cursor === undefined ? undefined : normalizeContextId(cursor),
    });
    return sendJson(c, { rows: rows.map(ledgerRowJson) });
  });

  app.get("/v1/ledger/rows/:id", async (c) => {
    return sendJson(c, ledgerRowJson(await ledger.row(c.req.param("id"))));
  });

  app.get("/v1/ledger/count", async (c) => {
    const count = await ledger.count({ contextFunction: queryString(c, "function"), since: queryDatetime(c, "since"), until: queryDatetime(c, "until") });
    return sendJson(c, { count });
  });

  app.post("/v1/ledger/rows", async (c) => {
    const text = stringField(await readJsonObject(c, "The body"), "canonical_text", "The body");
    const { contextId, outcome } = await ledger.appendCanonical(text, "canonical_text");
    return sendJson(c, ledgerAppendJson(contextId, outcome));
  });
}
