/** @jsxImportSource hono/jsx */
// What a record would have kept and dropped at another token budget (`context explain`, as JSON in
// api/explain.ts): both token ledgers and every item's fate, changes marked. Item keys are untrusted text: escaped.
import type { ExplanationJson } from "../../api/explain.js";
import { Layout, type Shell } from "./layout.js";

type Ledger = ExplanationJson["recorded"];

const budget = (t: Ledger) => (t.max_tokens === null ? "unlimited" : `max ${t.max_tokens}`);
const dropped = (t: Ledger) =>
  Object.entries(t.dropped)
    .map(([reason, d]) => `${d.items} (${d.tokens} tokens, ${reason})`)
    .join(", ") || "0";

export function ExplainView(props: Shell & { explanation: ExplanationJson }) {
  const e = props.explanation;
  const r = e.recorded;
  const x = e.explained;
  const enc = encodeURIComponent(e.context_id);
  return (
    <Layout title={props.title} signedIn={props.signedIn}>
      <h1>
        {"Explain "}
        <a class="mono" href={`/ui/records/${enc}`}>
          {e.context_id}
        </a>
        {` at ${budget(x)}`}
      </h1>
      <p>
        {`Recorded at ${budget(r)}; strategy ${e.strategy}. The function was re-run with the record's own inputs, features and chunks: nothing was read from the stores, nothing was written.`}
      </p>
      {e.reproduces ? null : (
        <p class="bad" id="explain-not-reproduced">
          Today's function does not reproduce the record at its own budget (the items changed): the comparison is with
          today's items.
        </p>
      )}
      <table id="explain-ledger">
        <thead>
          <tr>
            <th>tokens</th>
            <th>{budget(r)}</th>
            <th>{budget(x)}</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>provided</td>
            <td>{r.provided}</td>
            <td>{x.provided}</td>
          </tr>
          <tr>
            <td>used</td>
            <td>{r.used}</td>
            <td>{x.used}</td>
          </tr>
          <tr>
            <td>dropped</td>
            <td>{dropped(r)}</td>
            <td>{dropped(x)}</td>
          </tr>
        </tbody>
      </table>
      <table id="explain-items">
        <thead>
          <tr>
            <th>item</th>
            <th>priority</th>
            <th>tokens</th>
            <th>{budget(r)}</th>
            <th>{budget(x)}</th>
          </tr>
        </thead>
        <tbody>
          {e.items.map((i) => (
            <tr class={i.recorded !== i.explained ? "changed" : undefined} data-item={i.key}>
              <td class="mono">{i.required ? `${i.key} (required)` : i.key}</td>
              <td>{i.priority}</td>
              <td>{i.tokens}</td>
              <td>{i.recorded}</td>
              <td>{i.explained}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
