/** @jsxImportSource hono/jsx */
// The diff page: what `context diff` shows (record/diff.ts via the Ledger's comparison), two records side by side.
import type { Comparison } from "../../engine/ledger/compare.js";
import type { VerifyResult } from "../../record/verify.js";
import { sideBySide, valueText } from "../model.js";
import { Layout, type Shell } from "./layout.js";

export function DiffView(
  props: Shell & { comparison: Comparison; replay?: { mode: string; sameContent: boolean | null } },
) {
  const { diff: d, verification } = props.comparison;
  const link = (id: string) => (
    <a class="mono" href={`/ui/records/${encodeURIComponent(id)}`}>
      {id}
    </a>
  );
  return (
    <Layout title="Diff" signedIn={props.signedIn}>
      <h1>{props.replay ? `Replay (${props.replay.mode} data) against the original` : "Compare two records"}</h1>
      {props.replay ? (
        <p id="replay-result" class={props.replay.sameContent === false ? "warn" : "ok"}>
          {props.replay.sameContent === null
            ? "The original keeps no content to compare."
            : props.replay.sameContent
              ? "✓ The replay reproduced the original content exactly."
              : "The replay's content differs from the original."}
        </p>
      ) : null}
      <section class="card" id="summary">
        <p>
          <strong>{d.summary}</strong>
        </p>
        <div class="grid2">
          {(["a", "b"] as const).map((side) => (
            <div id={`side-${side}`}>
              <h2>{side === "a" ? "A (before)" : "B (after)"}</h2>
              <div>{link(d[side].context_id)}</div>
              <div class="muted">{`${d[side].context_function} · ${d[side].created_at}`}</div>
              <Badge v={verification[side]} />
              <div>{`tokens ${side === "a" ? d.tokens.a : d.tokens.b} · freshness ${d.freshness_status[side]} · cost $${(side === "a" ? d.estimated_cost_usd.a : d.estimated_cost_usd.b).toFixed(6)}`}</div>
            </div>
          ))}
        </div>
        {props.comparison.verified ? null : (
          <p class="bad">
            A record failed verification: it was altered after it was written, so this diff is not evidence.
          </p>
        )}
      </section>
      <section class="card" id="diff-inputs">
        <h2>Inputs</h2>
        <Rows
          rows={[
            ...d.inputs.changed.map((i) => ["~", i.name, valueText(i.before), valueText(i.after)] as const),
            ...d.inputs.removed.map((i) => ["-", i.name, valueText(i.value), ""] as const),
            ...d.inputs.added.map((i) => ["+", i.name, "", valueText(i.value)] as const),
          ]}
        />
      </section>
      <section class="card" id="diff-features">
        <h2>Features</h2>
        <Rows
          rows={[
            ...d.features.changed.map(
              (f) =>
                [
                  f.value_changed ? "~" : "·",
                  `${f.name}(${f.entity_id})`,
                  `${valueText(f.before.value)}  (${f.before.source}, ${f.before.as_of})`,
                  `${valueText(f.after.value)}  (${f.after.source}, ${f.after.as_of})`,
                ] as const,
            ),
            ...d.features.removed.map(
              (f) => ["-", `${f.name}(${f.entity_id})`, `${valueText(f.value)}  (${f.source})`, ""] as const,
            ),
            ...d.features.added.map(
              (f) => ["+", `${f.name}(${f.entity_id})`, "", `${valueText(f.value)}  (${f.source})`] as const,
            ),
          ]}
        />
      </section>
      <section class="card" id="diff-chunks">
        <h2>Retrieved chunks</h2>
        <Rows
          rows={[
            ...d.retrieved_items.removed.map(
              (c) =>
                [
                  "-",
                  `${c.retriever} ${c.chunk_id}`,
                  `similarity ${c.similarity.toFixed(3)}, ${c.token_count} tokens`,
                  "",
                ] as const,
            ),
            ...d.retrieved_items.added.map(
              (c) =>
                [
                  "+",
                  `${c.retriever} ${c.chunk_id}`,
                  "",
                  `similarity ${c.similarity.toFixed(3)}, ${c.token_count} tokens`,
                ] as const,
            ),
            ...d.retrieved_items.changed.map(
              (c) =>
                [
                  "~",
                  `${c.retriever} ${c.chunk_id}${c.content_changed ? " (re-indexed)" : ""}`,
                  `similarity ${c.similarity_before.toFixed(3)}, priority ${c.priority_before}`,
                  `similarity ${c.similarity_after.toFixed(3)} (${c.similarity_delta >= 0 ? "+" : ""}${c.similarity_delta.toFixed(3)}), priority ${c.priority_after}`,
                ] as const,
            ),
          ]}
        />
      </section>
      <section class="card" id="diff-drops">
        <h2>Dropped items</h2>
        <Rows
          rows={[
            ...d.dropped_items.only_in_a.map(
              (x) => ["-", x.source_id, `${String(x.token_count)} tokens, ${x.reason}`, ""] as const,
            ),
            ...d.dropped_items.only_in_b.map(
              (x) => ["+", x.source_id, "", `${String(x.token_count)} tokens, ${x.reason}`] as const,
            ),
            ...d.dropped_items.in_both.map(
              (x) => ["·", x.source_id, `${String(x.token_count)} tokens`, `${String(x.token_count)} tokens`] as const,
            ),
          ]}
        />
      </section>
      <section class="card" id="diff-content">
        <h2>{`Content · similarity ${d.content.similarity.toFixed(4)} · +${d.content.lines_added} −${d.content.lines_removed} lines`}</h2>
        {d.content.not_stored.length > 0 ? (
          <p class="muted">{`Not kept by ${d.content.not_stored.join(" and ")}: only the hashes were compared.`}</p>
        ) : null}
        {d.content.identical ? (
          <p class="ok">Identical content.</p>
        ) : (
          <table class="side">
            <tbody>
              {sideBySide(d.content.unified).map((row) =>
                row.kind === "hunk" ? (
                  <tr>
                    <td colspan={2} class="hunk mono">
                      {row.a}
                    </td>
                  </tr>
                ) : (
                  <tr>
                    <td class={row.kind === "change" && row.a !== null ? "del" : ""}>
                      <span class="diffline">{row.a ?? ""}</span>
                    </td>
                    <td class={row.kind === "change" && row.b !== null ? "add" : ""}>
                      <span class="diffline">{row.b ?? ""}</span>
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        )}
      </section>
    </Layout>
  );
}

function Badge(props: { v: VerifyResult }) {
  return props.v.ok ? (
    <span class="badge ok">✓ verified</span>
  ) : (
    <span class="badge bad">{`✗ ${props.v.failed?.name ?? "?"} mismatch: NOT verified`}</span>
  );
}

function Rows(props: { rows: readonly (readonly [string, string, string, string])[] }) {
  if (props.rows.length === 0) return <p class="muted">No difference.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th />
          <th>item</th>
          <th>A</th>
          <th>B</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map(([mark, name, a, b]) => (
          <tr class={mark === "+" ? "add" : mark === "-" ? "del" : ""}>
            <td class="mono">{mark}</td>
            <td class="mono">{name}</td>
            <td class="mono">{a}</td>
            <td class="mono">{b}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
