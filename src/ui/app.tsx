/** @jsxImportSource hono/jsx */
// The record viewer under /ui (mounted by server/app.ts): server-rendered pages over the runtime's Ledger, the
// engine's replay and record/diff.ts. Same auth as the API: an API key (sent by the login form once, then kept in an
// http-only SameSite=Strict cookie scoped to /ui) or, with no keys configured, the loopback rule. Every response
// carries a strict Content-Security-Policy: only this server's stylesheet and script, no inline script or style.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { parseFreshnessFilter, parseTimeOrAgo, parseValueFilter } from "../api/filters.js";
import { explanationJson } from "../api/explain.js";
import { explainContext } from "../engine/context/explain.js";
import { replayContext } from "../engine/context/replay.js";
import { buildPack } from "../engine/ledger/pack.js";
import type { FabraRuntime } from "../engine/runtime.js";
import { FabraError, httpStatusFor, isFabraError } from "../errors.js";
import { normalizeContextId } from "../record/id.js";
import type { RecordFilter } from "../stores/types.js";
import { SCRIPT, STYLE } from "./assets.js";
import { listItem, recordPage } from "./model.js";
import { DiffView } from "./views/diff.js";
import { ExplainView } from "./views/explain.js";
import { ErrorPage, LoginPage } from "./views/layout.js";
import { ListPage, type ListQuery, pageQuery } from "./views/list.js";
import { RecordView } from "./views/record.js";
import { parseMaxTokens } from "../util/max-tokens.js";
import { packDownloadHeaders } from "../api/pack-download.js";

/** The server's auth as the viewer uses it (server/auth.ts's Auth). */
export interface UiAuth {
  readonly mode: "keys" | "loopback";
  check(
    headers: { authorization?: string | undefined; apiKey?: string | undefined },
    remoteAddress: string | undefined | (() => string | undefined),
  ): string;
}

export interface UiDeps {
  runtime: FabraRuntime;
  auth: UiAuth;
  /** Server faults, one line each. */
  log: (line: string) => void;
}

type UiEnv = {
  Bindings: { incoming?: { socket?: { remoteAddress?: string } } };
  Variables: { signedIn: boolean };
};

export const COOKIE = "fabra_ui_key";
const PAGE_SIZE = 50;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export function createUiApp(deps: UiDeps): Hono<UiEnv> {
  const ui = new Hono<UiEnv>();
  const { runtime, auth } = deps;

  ui.use("*", async (c, next) => {
    c.set("signedIn", false);
    await next();
    c.header("content-security-policy", CONTENT_SECURITY_POLICY);
    c.header("x-content-type-options", "nosniff");
    c.header("x-frame-options", "DENY");
    // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the viewer's own forms.
    c.header("referrer-policy", "same-origin");
    c.header("cross-origin-opener-policy", "same-origin");
    c.header("cross-origin-resource-policy", "same-origin");
    if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
  });

  // The viewer's forms are a key, a mode, a next page: nothing near this size.
  ui.use(
    "*",
    bodyLimit({
      maxSize: 16 * 1024,
      onError: (c) =>
        c.html(
          <ErrorPage
            title="Too large"
            signedIn={false}
            status={413}
            code="PAYLOAD_TOO_LARGE"
            message="The form is too large"
          />,
          413,
        ),
    }),
  );

  ui.get("/assets/app.css", (c) => {
    c.header("cache-control", "public, max-age=3600");
    return c.body(STYLE, 200, { "content-type": "text/css; charset=utf-8" });
  });
  ui.get("/assets/app.js", (c) => {
    c.header("cache-control", "public, max-age=3600");
    return c.body(SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8" });
  });
  ui.get("/favicon.ico", (c) => c.body(null, 204));

  ui.get("/login", (c) =>
    c.html(<LoginPage next={safeNext(c.req.query("next"))} loopbackOnly={auth.mode === "loopback"} />),
  );
  ui.post("/login", async (c) => {
    sameOrigin(c);
    const form = await c.req.parseBody();
    const key = typeof form.key === "string" ? form.key.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    if (key === "" || !accepts(auth, key))
      return c.html(<LoginPage next={next} error="That key is not valid." loopbackOnly={false} />, 401);
    setCookie(c, COOKIE, key, {
      path: "/ui",
      httpOnly: true,
      sameSite: "Strict",
      secure: isHttps(c),
    });
    return c.redirect(next, 303);
  });
  ui.post("/logout", (c) => {
    sameOrigin(c);
    deleteCookie(c, COOKIE, { path: "/ui", secure: isHttps(c) });
    return c.redirect("/ui/login", 303);
  });

  // Everything below needs a credential: a header key, the cookie, or the loopback rule.
  ui.use("*", async (c, next) => {
    const cookie = getCookie(c, COOKIE);
    try {
      auth.check(
        { authorization: c.req.header("authorization"), apiKey: c.req.header("x-api-key") ?? cookie },
        () => c.env?.incoming?.socket?.remoteAddress,
      );
    } catch (err) {
      if (!isFabraError(err) || err.code !== "UNAUTHORIZED") throw err;
      if (cookie !== undefined) deleteCookie(c, COOKIE, { path: "/ui" });
      if (c.req.method !== "GET") throw err;
      const url = new URL(c.req.url);
      return c.redirect(`/ui/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    c.set("signedIn", cookie !== undefined);
    await next();
  });

  ui.get("/", async (c) => {
    const query = listQuery(c);
    const cursor = c.req.query("cursor");
    const filter: RecordFilter = {
      ...listFilter(query),
      limit: PAGE_SIZE,
      cursor: cursor ? normalizeContextId(cursor) : undefined,
    };
    const rows = await runtime.ledger.list(filter);
    const last = rows[rows.length - 1];
    return c.html(
      <ListPage
        title="Records"
        signedIn={c.get("signedIn")}
        query={query}
        functions={[...runtime.definitions.contexts.keys()].sort()}
        items={rows.map(listItem)}
        next={rows.length === PAGE_SIZE && last ? pageQuery(query, last.contextId) : null}
        firstPage={!cursor}
      />,
    );
  });

  ui.get("/records/:id", async (c) => {
    const page = await recordPage(runtime, c.req.param("id"));
    return c.html(<RecordView title={page.row.contextId} signedIn={c.get("signedIn")} page={page} />);
  });

  ui.post("/records/:id/replay", async (c) => {
    sameOrigin(c);
    const form = await c.req.parseBody();
    const live = form.mode === "live";
    const result = await replayContext(runtime, c.req.param("id"), { live });
    const p = new URLSearchParams({
      a: result.original.context_id,
      b: result.replay.id,
      replay: live ? "live" : "recorded",
    });
    return c.redirect(`/ui/diff?${p}`, 303);
  });

  ui.get("/records/:id/explain", async (c) => {
    // An empty field means no budget, as `none` does.
    const maxTokens = parseMaxTokens(c.req.query("max_tokens") || "none", "max_tokens");
    const strategy = c.req.query("strategy") || undefined;
    if (strategy !== undefined && strategy !== "drop" && strategy !== "backfill")
      throw new FabraError("INVALID_ARGUMENT", `strategy=${JSON.stringify(strategy)} is not drop or backfill`, {
        hint: "Pick drop or backfill, or leave it empty for the context's own strategy.",
      });
    const explanation = explanationJson(await explainContext(runtime, c.req.param("id"), { maxTokens, strategy }));
    return c.html(
      <ExplainView
        title={`Explain ${explanation.context_id}`}
        signedIn={c.get("signedIn")}
        explanation={explanation}
      />,
    );
  });

  ui.get("/records/:id/pack", async (c) => {
    const id = normalizeContextId(c.req.param("id"));
    const bytes = await buildPack(runtime.ledger, id, {
      log: runtime.logSettings,
    });
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, packDownloadHeaders(id));
  });

  ui.get("/diff", async (c) => {
    const picks = c.req.queries("pick") ?? [];
    const a = c.req.query("a") || picks[0];
    const b = c.req.query("b") || picks[1];
    if (!a || !b)
      throw new FabraError("INVALID_ARGUMENT", "Compare needs two records", {
        hint: "Tick two records in the list, or give a=<context id>&b=<context id>.",
      });
    const comparison = await runtime.ledger.diff({ id: a }, { id: b });
    const mode = c.req.query("replay");
    const replay =
      mode === "live" || mode === "recorded"
        ? {
            mode,
            sameContent: comparison.diff.content.not_stored.length > 0 ? null : comparison.diff.content.identical,
          }
        : undefined;
    return c.html(<DiffView title="Diff" signedIn={c.get("signedIn")} comparison={comparison} replay={replay} />);
  });

  // Mounted under the API app, whose own not-found answer is JSON: the viewer's unknown pages end here.
  ui.all("*", (c) =>
    c.html(
      <ErrorPage title="Not found" signedIn={false} status={404} code="NOT_FOUND" message={`No page ${c.req.path}`} />,
      404,
    ),
  );

  ui.onError((err, c) => {
    const status = httpStatusFor(err);
    if (status >= 500)
      deps.log(
        `viewer: ${c.req.method} ${c.req.path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
    const fabra = isFabraError(err) && status < 500;
    return c.html(
      <ErrorPage
        title="Error"
        signedIn={false}
        status={status}
        code={fabra ? err.code : "INTERNAL"}
        message={fabra ? err.message : "Internal server error (the server log has the details)"}
        hint={fabra ? err.hint : undefined}
      />,
      status as 400,
    );
  });

  return ui;
}

function accepts(auth: UiAuth, key: string): boolean {
  try {
    auth.check({ apiKey: key }, undefined);
    return true;
  } catch {
    return false;
  }
}

/** Where the login form may send the browser afterwards: a viewer path on this server, nothing else. */
function safeNext(next: string | undefined): string {
  if (next && /^\/ui(?:[/?]|$)/.test(next) && !next.includes("//") && !next.includes("\\")) return next;
  return "/ui";
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}

/**
 * A form POST from another site is refused (the cookie is SameSite=Strict already; this also covers the loopback
 * rule, which has no cookie): the browser's Sec-Fetch-Site must say same-origin, else its Origin must be this host.
 * A client that sends neither (curl, a script) is not a browser tricked into posting.
 */
function sameOrigin(c: Context): void {
  const site = c.req.header("sec-fetch-site");
  const origin = c.req.header("origin");
  const host = c.req.header("host") ?? new URL(c.req.url).host;
  const fromHere =
    site !== undefined ? site === "same-origin" || site === "none" : origin === undefined || sameHost(origin, host);
  if (!fromHere)
    throw new FabraError("FORBIDDEN", "The viewer only takes forms sent from its own pages", {
      hint: "Open the viewer at this server's /ui and use its buttons.",
    });
}

function sameHost(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function listQuery(c: Context): ListQuery {
  const q = (name: string) => (c.req.query(name) ?? "").trim();
  return {
    function: q("function"),
    since: q("since"),
    until: q("until"),
    input: q("input"),
    feature: q("feature"),
    status: q("status"),
    hasDrops: q("has_drops") === "true",
    replaysOf: q("replays_of"),
  };
}

/** The list query as a record filter, parsed as `context list` parses its flags. */
function listFilter(q: ListQuery): RecordFilter {
  return {
    contextFunction: q.function || undefined,
    since: q.since ? parseTimeOrAgo(q.since, "since") : undefined,
    until: q.until ? parseTimeOrAgo(q.until, "until") : undefined,
    inputs: q.input ? [parseValueFilter(q.input, "input")] : undefined,
    features: q.feature ? [parseValueFilter(q.feature, "feature")] : undefined,
    freshnessStatus: q.status ? parseFreshnessFilter(q.status, "status") : undefined,
    hasDrops: q.hasDrops ? true : undefined,
    replaysOf: q.replaysOf ? normalizeContextId(q.replaysOf) : undefined,
  };
}
