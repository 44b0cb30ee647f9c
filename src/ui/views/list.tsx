/** @jsxImportSource hono/jsx */
// The list page: newest first, paged by cursor, with the same filters as `context list` (they run in the database).
import type { ListItem } from "../model.js";
import { Layout, type Shell } from "./layout.js";

export interface ListQuery {
  function: string;
  since: string;
  until: string;
  input: string;
  feature: string;
  status: string;
  hasDrops: boolean;
  replaysOf: string;
}

export function ListPage(
  props: Shell & {
    query: ListQuery;
    functions: readonly string[];
    items: ListItem[];
    /** The query string of the next page, or null on the last one. */
    next: string | null;
    firstPage: boolean;
  },
) {
  const q = props.query;
  return (
    <Layout title={props.title} signedIn={props.signedIn}>
      <h1>Context records</h1>
      <section class="card">
        <form class="filters" method="get" action="/ui" id="filters">
          <label>
            function
            <select name="function">
              <option value="">any</option>
              {[...new Set([...props.functions, ...(q.function ? [q.function] : [])])].map((f) => (
                <option value={f} selected={f === q.function}>
                  {f}
                </option>
              ))}
            </select>
          </label>
          <label>
            since
            <input name="since" value={q.since} placeholder="1h or 2026-03-01T09:00:00Z" size={22} />
          </label>
          <label>
            until
            <input name="until" value={q.until} placeholder="ISO time or 30m" size={22} />
          </label>
          <label>
            input
            <input name="input" value={q.input} placeholder="userId=u_1" size={16} />
          </label>
          <label>
            feature value
            <input name="feature" value={q.feature} placeholder="userTier=enterprise" size={20} />
          </label>
          <label>
            freshness
            <select name="status">
              {["", "guaranteed", "degraded", "unknown"].map((s) => (
                <option value={s} selected={s === q.status}>
                  {s === "" ? "any" : s}
                </option>
              ))}
            </select>
          </label>
          <label>
            replays of
            <input name="replays_of" value={q.replaysOf} placeholder="ctx_…" size={20} />
          </label>
          <label>
            <span>
              <input type="checkbox" name="has_drops" value="true" checked={q.hasDrops} /> has drops
            </span>
          </label>
          <button class="primary" type="submit">
            Filter
          </button>
          <a href="/ui">clear</a>
        </form>
      </section>
      <section class="card">
        <form method="get" action="/ui/diff" data-compare="">
          <div class="actions">
            <button type="submit" data-compare-button="">
              Compare two ticked
            </button>
            <span class="muted">{`${props.items.length} shown`}</span>
          </div>
          <table id="records">
            <thead>
              <tr>
                <th />
                <th>context</th>
                <th>created</th>
                <th>function</th>
                <th>tokens used / max</th>
                <th>dropped</th>
                <th>freshness</th>
                <th>replay of</th>
              </tr>
            </thead>
            <tbody>
              {props.items.length === 0 ? (
                <tr>
                  <td colspan={8} class="muted">
                    No context records match.
                  </td>
                </tr>
              ) : (
                props.items.map((r) => (
                  <tr data-id={r.contextId}>
                    <td>
                      <input type="checkbox" name="pick" value={r.contextId} aria-label={`pick ${r.contextId}`} />
                    </td>
                    <td>
                      <a class="mono" href={`/ui/records/${encodeURIComponent(r.contextId)}`}>
                        {r.contextId}
                      </a>
                      {r.imported ? <span class="muted"> (imported)</span> : null}
                    </td>
                    <td class="mono">{r.createdAt}</td>
                    <td>{r.contextFunction}</td>
                    <td>{`${r.tokensUsed ?? "?"} / ${r.maxTokens ?? "∞"}`}</td>
                    <td class={r.dropped ? "warn" : ""}>{r.dropped ?? "?"}</td>
                    <td class={r.freshness === "degraded" ? "warn" : ""}>{r.freshness ?? "?"}</td>
                    <td>
                      {r.replayOf ? (
                        <a class="mono" href={`/ui/records/${encodeURIComponent(r.replayOf)}`}>
                          {r.replayOf.slice(0, 16)}…
                        </a>
                      ) : null}
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </form>
        <div class="pager">
          {props.firstPage ? null : <a href={`/ui?${pageQuery(q, null)}`}>newest</a>}
          {props.next ? (
            <a href={`/ui?${props.next}`} id="next-page">
              next page
            </a>
          ) : null}
        </div>
      </section>
    </Layout>
  );
}

/** The list's query string (filters, and the cursor of a page). */
export function pageQuery(q: ListQuery, cursor: string | null): string {
  const p = new URLSearchParams();
  if (q.function) p.set("function", q.function);
  if (q.since) p.set("since", q.since);
  if (q.until) p.set("until", q.until);
  if (q.input) p.set("input", q.input);
  if (q.feature) p.set("feature", q.feature);
  if (q.status) p.set("status", q.status);
  if (q.hasDrops) p.set("has_drops", "true");
  if (q.replaysOf) p.set("replays_of", q.replaysOf);
  if (cursor) p.set("cursor", cursor);
  return p.toString();
}
