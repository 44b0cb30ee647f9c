// The CLI's client for a running fabra server's HTTP API (found through its state file): one method per thing the
// CLI asks of it, each sending and reading the api/ wire shapes (bodies kind-preserving, records read losslessly),
// and the server's `{ error: { code, message, hint } }` turned back into the same FabraError.
import { recordFilterQuery } from "../api/filters.js";
import type { ContextResult } from "../define/types.js";
import { FabraError, type FabraErrorCode } from "../errors.js";
import { parseJson, type JsonObject, type JsonValue, toJsonText } from "../record/json.js";
import { recordFromJson } from "../record/schema.js";
import type { AppendOutcome, LedgerRow, OutcomeRow, RecordFilter } from "../stores/types.js";
import {
  assemblyFromJson,
  assemblyShape,
  type RecordSummary,
  recordPageFromJson,
  recordPageShape,
  replayShape,
  type ReplayJson,
} from "../api/contexts.js";
import {
  ledgerAppendShape,
  ledgerCountShape,
  ledgerRowFromJson,
  ledgerRowShape,
  ledgerRowsShape,
} from "../api/ledger-rows.js";
import { parseShape } from "../api/wire.js";
import { explanationShape, type ExplanationJson } from "../api/explain.js";
import type { BudgetStrategy } from "../define/context.js";
import { outcomeListShape, outcomeRowFromJson } from "../api/outcomes.js";

type Method = "GET" | "POST" | "DELETE";

export class FabraHttpClient {
  constructor(
    readonly url: string,
    /** The state file's token, or an API key; none is sent when empty. */
    private readonly token: string,
    /** What to do when the server does not answer. */
    private readonly unreachableHint = "That server holds the ledger file; check it is still running, or stop it and run the command again.",
  ) {}

  // ---------------------------------------------------------------- contexts

  /** Assembles a context in the server (its record written there) and reads the result and the record back. */
  async runContext(name: string, inputs: JsonObject): Promise<ContextResult> {
    const path = `/v1/context/${encodeURIComponent(name)}`;
    const assembly = parseShape(assemblyShape, await this.plain("POST", path, inputs), this.answer("POST", path));
    const record = recordFromJson(
      await this.lossless("GET", `/v1/contexts/${encodeURIComponent(assembly.context_id)}`),
    );
    return assemblyFromJson(assembly, record);
  }

  /** Replays a record in the server (recorded inputs, or today's with `live`); the new record is written there. */
  async replay(contextId: string, live: boolean): Promise<ReplayJson> {
    const path = `/v1/contexts/${encodeURIComponent(contextId)}/replay`;
    return parseShape(replayShape, await this.plain("POST", path, { live }), this.answer("POST", path));
  }

  /** What a record would have kept and dropped at another budget, computed in the server (nothing is written). */
  async explain(contextId: string, maxTokens: number | null, strategy?: BudgetStrategy): Promise<ExplanationJson> {
    const path = `/v1/contexts/${encodeURIComponent(contextId)}/explain`;
    const body = { max_tokens: maxTokens, ...(strategy ? { strategy } : {}) };
    return parseShape(explanationShape, await this.plain("POST", path, body), this.answer("POST", path));
  }

  // ---------------------------------------------------------------- the ledger's rows (the remote record store)

  /** Appends a record by its canonical text; the server verifies it first. */
  /** Appends a record's canonical text; `imported` when `fabra context import` brought it in. */
  async appendRow(canonicalText: string, imported = false): Promise<AppendOutcome> {
    const path = "/v1/ledger/rows";
    return parseShape(
      ledgerAppendShape,
      await this.lossless("POST", path, { canonical_text: canonicalText, ...(imported ? { imported: true } : {}) }),
      this.answer("POST", path),
    ).outcome;
  }

  /** The row of one record, or null when the ledger has none with that id. */
  async getRow(contextId: string): Promise<LedgerRow | null> {
    const path = `/v1/ledger/rows/${encodeURIComponent(contextId)}`;
    let body: JsonValue;
    try {
      body = await this.lossless("GET", path);
    } catch (err) {
      if (err instanceof FabraError && err.code === "RECORD_NOT_FOUND") return null;
      throw err;
    }
    return ledgerRowFromJson(parseShape(ledgerRowShape, body, this.answer("GET", path)));
  }

  /** One page of rows (the server caps `limit` at its largest page). */
  async listRows(filter: RecordFilter): Promise<LedgerRow[]> {
    const path = `/v1/ledger/rows?${filterQuery(filter)}`;
    return parseShape(
      ledgerRowsShape,
      await this.lossless("GET", path),
      this.answer("GET", "/v1/ledger/rows"),
    ).rows.map(ledgerRowFromJson);
  }

  async countRows(filter: Omit<RecordFilter, "limit" | "cursor" | "order">): Promise<number> {
    const path = `/v1/ledger/count?${filterQuery(filter)}`;
    return parseShape(ledgerCountShape, await this.lossless("GET", path), this.answer("GET", "/v1/ledger/count")).count;
  }

  // ---------------------------------------------------------------- the public read routes (`--url` / FABRA_URL)

  /** The stored text of one record (by context id or sha256: record hash), exactly as received; null for a 404. */
  async recordText(ref: string): Promise<string | null> {
    try {
      return await this.text("GET", `/v1/contexts/${encodeURIComponent(ref)}`);
    } catch (err) {
      if (err instanceof FabraError && err.code === "RECORD_NOT_FOUND") return null;
      throw err;
    }
  }

  /** One page of record summaries from GET /v1/contexts. */
  async listRecords(filter: RecordFilter): Promise<RecordSummary[]> {
    const path = `/v1/contexts?${filterQuery(filter)}`;
    return recordPageFromJson(
      parseShape(recordPageShape, await this.lossless("GET", path), this.answer("GET", "/v1/contexts")),
    ).rows;
  }

  /** The outcome entries linked to a record (none when the server predates outcomes). */
  async listOutcomes(contextId: string): Promise<OutcomeRow[]> {
    const path = `/v1/contexts/${encodeURIComponent(contextId)}/outcomes`;
    return parseShape(outcomeListShape, await this.plain("GET", path), this.answer("GET", path)).outcomes.map(
      outcomeRowFromJson,
    );
  }

  // ---------------------------------------------------------------- vector indexes (`fabra index ...` beside the server)

  async listIndexes(): Promise<{ name: string; chunks: number; dimensions: number }[]> {
    const body = (await this.plain("GET", "/v1/indexes")) as { indexes?: unknown };
    if (!Array.isArray(body?.indexes)) throw malformed(this.answer("GET", "/v1/indexes"));
    return body.indexes as { name: string; chunks: number; dimensions: number }[];
  }

  /** Indexes documents in the server (chunked and embedded there; unchanged ones skipped). */
  async addDocuments(
    index: string,
    documents: { id: string; content: string; sourceUrl?: string | null | undefined }[],
  ): Promise<{ documents: number; chunks: number; skipped: number }> {
    const path = `/v1/indexes/${encodeURIComponent(index)}/documents`;
    const body = {
      documents: documents.map((d) => ({ id: d.id, content: d.content, source_url: d.sourceUrl ?? null })),
    };
    return indexCounts(await this.plain("POST", path, body), this.answer("POST", path));
  }

  async listDocuments(
    index: string,
  ): Promise<{ documentId: string; documentHash: string | null; sourceUrl: string | null; chunks: number }[]> {
    const path = `/v1/indexes/${encodeURIComponent(index)}/documents`;
    const body = (await this.plain("GET", path)) as {
      documents?: { document_id: string; document_hash: string | null; source_url: string | null; chunks: number }[];
    };
    if (!Array.isArray(body?.documents)) throw malformed(this.answer("GET", path));
    return body.documents.map((d) => ({
      documentId: d.document_id,
      documentHash: d.document_hash,
      sourceUrl: d.source_url,
      chunks: d.chunks,
    }));
  }

  async removeDocuments(index: string, documentIds: string[]): Promise<{ documents: string[]; chunks: number }> {
    const path = `/v1/indexes/${encodeURIComponent(index)}/documents/remove`;
    return removedFrom(await this.plain("POST", path, { document_ids: documentIds }), this.answer("POST", path));
  }

  async pruneDocuments(index: string, kept: string[]): Promise<{ documents: string[]; chunks: number }> {
    const path = `/v1/indexes/${encodeURIComponent(index)}/prune`;
    return removedFrom(await this.plain("POST", path, { kept }), this.answer("POST", path));
  }

  async dropIndex(index: string): Promise<{ chunks: number }> {
    const path = `/v1/indexes/${encodeURIComponent(index)}`;
    const body = (await this.plain("DELETE", path)) as { chunks?: unknown };
    if (typeof body?.chunks !== "number") throw malformed(this.answer("DELETE", path));
    return { chunks: body.chunks };
  }

  // ---------------------------------------------------------------- transport

  private answer(method: Method, path: string): string {
    return `The answer of ${this.url} to ${method} ${path}`;
  }

  /** The response as a kind-preserving JSON value (12.0 stays a float, big integers exact). */
  private async lossless(method: Method, path: string, body?: unknown): Promise<JsonValue> {
    return parseJson(await this.text(method, path, body), `the response to ${method} ${path}`);
  }

  /** The response as plain JS values (for display). */
  private async plain(method: Method, path: string, body?: unknown): Promise<unknown> {
    const text = await this.text(method, path, body);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new FabraError("STORE_UNAVAILABLE", `${this.answer(method, path)} is not JSON`, {
        hint: "Check that the URL in the state file is a fabra server, and its log.",
      });
    }
  }

  /** The response body as text, or the server's error as a FabraError. */
  private async text(method: Method, path: string, body?: unknown): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: {
          ...(this.token === "" ? {} : { authorization: `Bearer ${this.token}` }),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : toJsonText(body),
      });
    } catch (err) {
      const reason =
        err instanceof Error && err.cause instanceof Error
          ? err.cause.message
          : err instanceof Error
            ? err.message
            : String(err);
      throw new FabraError(
        "STORE_UNAVAILABLE",
        `The fabra server at ${this.url} did not answer ${method} ${path}: ${reason}`,
        {
          hint: this.unreachableHint,
          cause: err,
        },
      );
    }
    const text = await res.text();
    if (!res.ok) throw errorFrom(res.status, text, this.url);
    return text;
  }
}

function malformed(what: string): FabraError {
  return new FabraError("STORE_UNAVAILABLE", `${what} is not what a fabra server sends`, {
    hint: "Check that the URL in the state file is a fabra server of this version, and its log.",
  });
}

function indexCounts(body: unknown, what: string): { documents: number; chunks: number; skipped: number } {
  const b = body as { documents?: unknown; chunks?: unknown; skipped?: unknown } | null;
  if (typeof b?.documents !== "number" || typeof b.chunks !== "number" || typeof b.skipped !== "number")
    throw malformed(what);
  return { documents: b.documents, chunks: b.chunks, skipped: b.skipped };
}

function removedFrom(body: unknown, what: string): { documents: string[]; chunks: number } {
  const b = body as { documents?: unknown; chunks?: unknown } | null;
  if (!Array.isArray(b?.documents) || typeof b.chunks !== "number") throw malformed(what);
  return { documents: b.documents as string[], chunks: b.chunks };
}

/** A record filter as the /v1/ledger query string. */
function filterQuery(filter: RecordFilter): string {
  return recordFilterQuery(filter).toString();
}

function errorFrom(status: number, text: string, url: string): FabraError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; hint?: string } };
    if (body.error?.code && body.error.message) {
      return new FabraError(
        body.error.code as FabraErrorCode,
        body.error.message,
        body.error.hint === undefined ? {} : { hint: body.error.hint },
      );
    }
  } catch {
    // not our envelope
  }
  return new FabraError("STORE_UNAVAILABLE", `The fabra server at ${url} answered HTTP ${status}`, {
    hint: "Check the server's log.",
  });
}
