// The ledger's rows over HTTP (/v1/ledger/*): what `fabra context ...` in another terminal uses (through
// stores/remote/records.ts) while this server holds an embedded DuckDB file. Appends are verified first.
import type { Hono } from "hono";
import { FabraError } from "../../errors.js";
import { ledgerAppendJson, ledgerRowJson } from "../../api/ledger-rows.js";
import { recordToRow, verifyLedgerRow } from "../../engine/ledger/ledger.js";
import { normalizeContextId } from "../../record/id.js";
import { readRecordText } from "../../record/verify.js";
import { verifyOptionsFromEnv } from "../../record/verify-env.js";
import { queryChoice, queryDatetime, queryInt, queryString, readJsonObject, sendJson, stringField } from "../http.js";
import type { AppEnv, ServerDeps } from "../types.js";
import { MAX_LIST } from "./contexts.js";

export function ledgerRoutes(app: Hono<AppEnv>, deps: ServerDeps): void {
  const records = () => deps.runtime.stores.records;

  app.get("/v1/ledger/rows", async (c) => {
    const cursor = queryString(c, "cursor");
    const rows = await records().list({
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
    const row = await records().get(normalizeContextId(c.req.param("id")));
    if (!row) throw new FabraError("RECORD_NOT_FOUND", `No context record ${normalizeContextId(c.req.param("id"))} in the ledger`, { hint: "GET /v1/contexts lists the records there." });
    return sendJson(c, ledgerRowJson(row));
  });

  app.get("/v1/ledger/count", async (c) => {
    const count = await records().count({ contextFunction: queryString(c, "function"), since: queryDatetime(c, "since"), until: queryDatetime(c, "until") });
    return sendJson(c, { count });
  });

  app.post("/v1/ledger/rows", async (c) => {
    const text = stringField(await readJsonObject(c, "The body"), "canonical_text", "The body");
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
    return sendJson(c, ledgerAppendJson(row.contextId, await records().append(row)));
  });
}
