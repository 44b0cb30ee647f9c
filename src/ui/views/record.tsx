/** @jsxImportSource hono/jsx */
// The record page: verification badge, inputs, features, retrieved chunks, the token budget, drops, content as its
// parts, lineage, linked outcomes, and the replay / compare actions. Every record field is rendered as text.
import type { VerifyCheck } from "../../record/verify.js";
import { formatMs, type RecordPage, safeHref, valueText } from "../model.js";
import { Layout, type Shell } from "./layout.js";

export function RecordView(props: Shell & { page: RecordPage }) {
  const { page } = props;
  const r = page.record;
  const id = page.row.contextId;
  const enc = encodeURIComponent(id);
  return (
    <Layout title={id} signedIn={props.signedIn}>
      <h1>
        <span class="mono" data-copy={id}>
          {id}
        </span>{" "}
        <span class="muted">{page.row.contextFunction}</span>
      </h1>
      <Verification page={page} />
      <section class="card" id="actions">
        <h2>Actions</h2>
        <div class="actions">
          <form method="post" action={`/ui/records/${enc}/replay`}>
            <input type="hidden" name="mode" value="recorded" />
            <button type="submit" id="replay-recorded">
              Replay (recorded data)
            </button>
          </form>
          <form
            method="post"
            action={`/ui/records/${enc}/replay`}
            data-confirm="A live replay reads today's features and index and writes a new record. Go on?"
          >
            <input type="hidden" name="mode" value="live" />
            <button type="submit" id="replay-live">
              Replay (live data)
            </button>
          </form>
          <form method="get" action="/ui/diff">
            <input type="hidden" name="a" value={id} />
            <input
              name="b"
              placeholder="ctx_… to compare with"
              size={42}
              value={page.replays[0] ?? page.row.previousContextId ?? ""}
              aria-label="record to compare with"
            />
            <button type="submit" id="compare">
              Compare
            </button>
          </form>
          <div id="record-extra-actions">
            <form method="get" action={`/ui/records/${enc}/explain`}>
              <input
                name="max_tokens"
                type="number"
                min="1"
                size={8}
                placeholder="max tokens"
                aria-label="token budget to try"
                required
              />
              <select name="strategy" aria-label="budget strategy">
                <option value="">its own strategy</option>
                <option value="drop">drop</option>
                <option value="backfill">backfill</option>
              </select>
              <button type="submit" id="explain">
                Explain at this budget
              </button>
            </form>
            <a id="download-pack" href={`/ui/records/${enc}/pack`} download>
              Download pack (.zip)
            </a>
          </div>
        </div>
        {page.replays.length > 0 ? (
          <p>
            {"Replays of this record: "}
            {page.replays.map((rid) => (
              <>
                <a class="mono" href={`/ui/records/${encodeURIComponent(rid)}`}>
                  {rid}
                </a>{" "}
              </>
            ))}
          </p>
        ) : null}
        {page.row.previousContextId ? (
          <p>
            {"Replay of / follows "}
            <a class="mono" href={`/ui/records/${encodeURIComponent(page.row.previousContextId)}`}>
              {page.row.previousContextId}
            </a>
          </p>
        ) : null}
      </section>
      {r === null ? (
        <section class="card" id="unreadable">
          <h2 class="bad">The stored text is not a readable record</h2>
          <p>{page.unreadable}</p>
          <pre>{page.row.canonicalText.slice(0, 20000)}</pre>
        </section>
      ) : (
        <>
          <section class="card" id="inputs">
            <h2>Inputs</h2>
            <table>
              <tbody>
                {Object.entries(r.inputs).map(([k, v]) => (
                  <tr>
                    <th class="mono">{k}</th>
                    <td class="mono">{valueText(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="muted">{`created ${r.created_at} · environment ${r.environment}`}</p>
          </section>
          <section class="card" id="features">
            <h2>Features</h2>
            {r.features.length === 0 ? (
              <p class="muted">No features.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>feature</th>
                    <th>entity</th>
                    <th>value</th>
                    <th>source</th>
                    <th>as of</th>
                    <th>age</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {r.features.map((f) => {
                    const stale = page.staleFeatures.has(f.name);
                    return (
                      <tr class={stale ? "stale" : ""} data-feature={f.name}>
                        <td class="mono">{f.name}</td>
                        <td class="mono">{f.entity_id}</td>
                        <td class="mono">{valueText(f.value)}</td>
                        <td class={f.source === "fallback" ? "warn" : ""}>{f.source}</td>
                        <td class="mono">{f.as_of}</td>
                        <td>{formatMs(Number(f.freshness_ms))}</td>
                        <td>{stale ? <span class="badge warn">stale</span> : null}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </section>
          <section class="card" id="chunks">
            <h2>Retrieved chunks</h2>
            {r.retrieved_items.length === 0 ? (
              <p class="muted">No retrieved chunks.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>chunk</th>
                    <th>similarity</th>
                    <th>tokens</th>
                    <th>priority</th>
                    <th>indexed</th>
                    <th>source</th>
                  </tr>
                </thead>
                <tbody>
                  {r.retrieved_items.map((c) => {
                    const sim = Number(c.similarity_score);
                    const href = safeHref(c.source_url);
                    return (
                      <tr class={c.is_stale ? "stale" : ""}>
                        <td>
                          <span class="mono">{c.chunk_id}</span>
                          <div class="muted">{`${c.retriever} · ${c.document_id}`}</div>
                          {c.content === null ? (
                            <div class="muted">(content not kept: only its hash)</div>
                          ) : (
                            <pre class="chunk-text">{c.content.slice(0, 600)}</pre>
                          )}
                        </td>
                        <td>
                          <meter min={0} max={1} value={Math.max(0, Math.min(1, sim))} title={sim.toFixed(3)} />{" "}
                          {sim.toFixed(3)}
                        </td>
                        <td>{String(c.token_count)}</td>
                        <td>{String(c.priority)}</td>
                        <td>
                          <span class="mono">{c.as_of}</span>
                          <div>
                            {formatMs(Number(c.freshness_ms))}
                            {c.is_stale ? <span class="badge warn"> stale</span> : null}
                          </div>
                        </td>
                        <td>
                          {href ? (
                            <a href={href} rel="noopener noreferrer nofollow" target="_blank">
                              {c.source_url}
                            </a>
                          ) : (
                            <span class="mono source-text">{c.source_url ?? ""}</span>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </section>
          <Budget page={page} />
          <section class="card" id="content">
            <h2>Content</h2>
            <p class="muted">Included chunks are marked as parts; the rest is the text around them.</p>
            {page.messages.length === 0 ? <p class="muted">(empty, or not kept)</p> : null}
            {page.messages.map((m) => (
              <div class="message">
                <div class="role">{m.role}</div>
                <pre>
                  {m.parts.map((p) =>
                    p.chunkId === null ? (
                      p.text
                    ) : (
                      <mark class="part" data-chunk={p.chunkId}>
                        {p.text}
                      </mark>
                    ),
                  )}
                </pre>
              </div>
            ))}
          </section>
          <section class="card" id="lineage">
            <h2>Lineage</h2>
            <table>
              <tbody>
                <tr>
                  <th>features used</th>
                  <td class="mono">{r.lineage.features_used.join(", ")}</td>
                </tr>
                <tr>
                  <th>retrievers used</th>
                  <td class="mono">{r.lineage.retrievers_used.join(", ")}</td>
                </tr>
                <tr>
                  <th>indexes used</th>
                  <td class="mono">{r.lineage.indexes_used.join(", ")}</td>
                </tr>
                <tr>
                  <th>code version</th>
                  <td class="mono">{r.lineage.code_version ?? "—"}</td>
                </tr>
                <tr>
                  <th>fabra version</th>
                  <td class="mono">{r.lineage.fabra_version}</td>
                </tr>
                <tr>
                  <th>assembly latency</th>
                  <td>{`${Number(r.lineage.assembly_latency_ms).toFixed(1)} ms`}</td>
                </tr>
                <tr>
                  <th>estimated cost</th>
                  <td>{`$${Number(r.lineage.estimated_cost_usd).toFixed(6)}`}</td>
                </tr>
              </tbody>
            </table>
          </section>
          <section class="card" id="outcomes">
            <h2>Outcomes</h2>
            {page.outcomesError ? <p class="bad">{page.outcomesError}</p> : null}
            {page.outcomes.length === 0 ? (
              <p class="muted">No outcome linked to this record.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>recorded</th>
                    <th>provider / model</th>
                    <th>finish</th>
                    <th>tokens</th>
                    <th>output</th>
                  </tr>
                </thead>
                <tbody>
                  {page.outcomes.map((o) => (
                    <tr>
                      <td class="mono">{o.recorded_at}</td>
                      <td>{`${o.provider}${o.model ? ` / ${o.model}` : ""}`}</td>
                      <td>{o.error ? <span class="bad">{o.error}</span> : (o.finish_reason ?? "")}</td>
                      <td>{o.usage?.total_tokens ?? ""}</td>
                      <td>
                        {o.output_text === null ? (
                          <span class="muted mono">{o.output_hash ?? ""}</span>
                        ) : (
                          <pre>{o.output_text.slice(0, 2000)}</pre>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </Layout>
  );
}

function Verification(props: { page: RecordPage }) {
  const { verification: v, inclusion } = props.page;
  return (
    <section class="card" id="verification">
      <h2>
        {"Verification "}
        {v.ok ? (
          <span class="badge ok" id="verified">
            ✓ verified
          </span>
        ) : (
          <span class="badge bad" id="not-verified">
            {`✗ NOT verified: ${v.failed?.name ?? "?"} mismatch`}
          </span>
        )}
      </h2>
      {v.ok ? null : (
        <p class="bad">The record was altered after it was written (or is not a record): it is not evidence.</p>
      )}
      <table>
        <tbody>
          {v.checks.map((c) => (
            <CheckRow check={c} />
          ))}
          {v.checks.some((c) => c.name === "signature") ? null : (
            <tr>
              <th>signature</th>
              <td>–</td>
              <td class="muted">unsigned (this ledger does not require signatures)</td>
            </tr>
          )}
          <tr>
            <th>inclusion</th>
            <td colspan={2}>
              {inclusion.state === "ok" ? (
                <span class="ok" id="inclusion">
                  {`✓ leaf ${inclusion.leafIndex} under a signed checkpoint of ${inclusion.treeSize} records`}
                </span>
              ) : inclusion.state === "failed" ? (
                <span class="bad" id="inclusion">{`✗ ${inclusion.reason}`}</span>
              ) : (
                <span class="muted" id="inclusion">{`not checked: ${inclusion.reason}`}</span>
              )}
            </td>
          </tr>
        </tbody>
      </table>
    </section>
  );
}

function CheckRow(props: { check: VerifyCheck }) {
  const c = props.check;
  return (
    <tr>
      <th>{c.name}</th>
      <td>
        {c.skipped ? (
          <span class="muted">{`– ${c.skipped}`}</span>
        ) : c.ok ? (
          <span class="ok">✓</span>
        ) : (
          <span class="bad">✗</span>
        )}
      </td>
      <td class="mono">
        {c.ok ? (
          <span data-copy={c.expected}>{c.expected}</span>
        ) : (
          <>
            <div>{`recorded  ${c.expected}`}</div>
            <div>{`recomputed ${c.actual}`}</div>
          </>
        )}
        {c.keyId ? <div class="muted">{`key ${c.keyId}`}</div> : null}
      </td>
    </tr>
  );
}

function Budget(props: { page: RecordPage }) {
  const b = props.page.budget;
  const r = props.page.record;
  if (!b || !r) return null;
  const w = (n: number) => Math.round((n / b.scale) * 1000);
  let x = w(b.used);
  return (
    <section class="card" id="budget">
      <h2>Token budget</h2>
      <svg class="budget" viewBox="0 0 1000 20" preserveAspectRatio="none" role="img" aria-label="token budget">
        <rect x="0" y="0" width="1000" height="20" fill="#d8dde6" />
        <rect x="0" y="0" width={String(w(b.used))} height="20" fill="#2559c7" />
        {b.dropped.map((d) => {
          const at = x;
          x += w(d.tokens);
          return (
            <rect
              x={String(Math.min(at, 1000))}
              y="4"
              width={String(Math.max(0, Math.min(w(d.tokens), 1000 - at)))}
              height="12"
              fill={d.reason === "priority_cutoff" ? "#b42318" : "#d9822b"}
            />
          );
        })}
      </svg>
      <p class="legend">
        <span>
          <i class="sw used" />
          {`used ${b.used}`}
        </span>
        <span>
          <i class="sw free" />
          {b.max === null ? "no max" : `max ${b.max}`}
        </span>
        {b.dropped.map((d) => (
          <span>
            <i class={`sw ${d.reason}`} />
            {`dropped ${d.tokens} tokens (${d.items}) · ${d.reason}`}
          </span>
        ))}
      </p>
      <p class="muted">{`${String(r.assembly.items_included)} of ${String(r.assembly.items_provided)} items included · required items ${r.assembly.required_items_included ? "included" : "NOT all included"} · freshness ${r.assembly.freshness_status}${r.assembly.freshness_violations.length > 0 ? ` (over SLA: ${r.assembly.freshness_violations.join(", ")})` : ""}`}</p>
      <h2>Dropped items</h2>
      {r.assembly.dropped_items.length === 0 ? (
        <p class="muted" id="no-drops">
          Nothing was dropped.
        </p>
      ) : (
        <table id="dropped">
          <thead>
            <tr>
              <th>item</th>
              <th>tokens</th>
              <th>priority</th>
              <th>reason</th>
            </tr>
          </thead>
          <tbody>
            {r.assembly.dropped_items.map((d) => (
              <tr>
                <td class="mono">{d.source_id}</td>
                <td>{String(d.token_count)}</td>
                <td>{String(d.priority)}</td>
                <td>{d.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
