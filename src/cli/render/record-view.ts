// The text view of one Context Record (`fabra context show`).
import chalk from "chalk";
import type { ContextRecord } from "../../record/types.js";
import type { VerifyResult } from "../../record/verify.js";
import { bad, dim, formatMs, heading, ok, showValue, table, truncate } from "./format.js";

/** How a ledger row came to be there: imported rows are never shown as records this deployment produced. */
export interface RowOrigin {
  imported?: boolean | undefined;
}

export function renderRecord(record: ContextRecord, verification: VerifyResult, origin: RowOrigin = {}): string {
  const a = record.assembly;
  const l = record.lineage;
  const out: string[] = [];
  out.push(
    `${chalk.bold("Context Record")} ${chalk.cyan(record.context_id)}${origin.imported ? `  ${chalk.yellow("IMPORTED")}` : ""}`,
  );
  out.push(
    `  function ${chalk.bold(record.context_function)}   created ${record.created_at}   env ${record.environment}   schema ${record.schema_version}`,
  );
  out.push(
    `  tokens ${record.token_count}${a.max_tokens === null ? "" : ` / ${a.max_tokens}`}   items ${a.items_included}/${a.items_provided} included   ` +
      `latency ${Number(l.assembly_latency_ms).toFixed(2)}ms   est. cost $${Number(l.estimated_cost_usd).toFixed(6)}`,
  );
  out.push("", heading("Inputs"));
  const inputs = Object.entries(record.inputs);
  out.push(
    inputs.length === 0
      ? dim("  (none)")
      : indent(
          table(
            ["name", "value"],
            inputs.map(([k, v]) => [k, showValue(v)]),
          ),
        ),
  );

  out.push("", heading(`Features (${record.features.length})`));
  out.push(
    record.features.length === 0
      ? dim("  (none)")
      : indent(
          table(
            ["name", "entity", "value", "source", "as of", "age"],
            record.features.map((f) => [
              f.name,
              f.entity_id,
              showValue(f.value, 40),
              sourceLabel(f.source),
              f.as_of,
              formatMs(Number(f.freshness_ms)),
            ]),
          ),
        ),
  );

  out.push("", heading(`Retrieved items (${record.retrieved_items.length})`));
  out.push(
    record.retrieved_items.length === 0
      ? dim("  (none)")
      : indent(
          table(
            ["chunk", "retriever", "similarity", "tokens", "priority", "age", "content"],
            record.retrieved_items.map((r) => [
              r.chunk_id,
              r.retriever,
              Number(r.similarity_score).toFixed(3),
              String(r.token_count),
              String(r.priority),
              formatMs(Number(r.freshness_ms)) + (r.is_stale ? chalk.yellow(" stale") : ""),
              r.content === null ? dim("(not stored)") : truncate(r.content, 40),
            ]),
          ),
        ),
  );

  out.push("", heading(`Dropped items (${a.dropped_items.length})`));
  out.push(
    a.dropped_items.length === 0
      ? dim("  (none)")
      : indent(
          table(
            ["item", "priority", "tokens", "reason"],
            a.dropped_items.map((d) => [d.source_id, String(d.priority), String(d.token_count), d.reason]),
          ),
        ),
  );
  if (!a.required_items_included)
    out.push(chalk.yellow("  ! required items alone exceed the token budget (budget_exceeded)"));

  out.push("", heading("Freshness"));
  const sla = a.freshness_sla_ms === null ? "no SLA" : `SLA ${formatMs(Number(a.freshness_sla_ms))}`;
  const status =
    a.freshness_status === "degraded"
      ? chalk.yellow(a.freshness_status)
      : a.freshness_status === "guaranteed"
        ? chalk.green(a.freshness_status)
        : a.freshness_status;
  out.push(
    `  ${status} (${sla})${a.freshness_violations.length > 0 ? `   violations: ${a.freshness_violations.join(", ")}` : ""}`,
  );

  out.push("", heading("Lineage"));
  const lineage: [string, string][] = [
    ["features", l.features_used.join(", ") || dim("-")],
    ["retrievers", l.retrievers_used.join(", ") || dim("-")],
    ["indexes", l.indexes_used.join(", ") || dim("-")],
    ["code", l.code_version ?? dim("unknown")],
    ["fabra", l.fabra_version],
  ];
  for (const [key, value] of lineage) out.push(`  ${key.padEnd(11)}${value}`);

  out.push("", heading("Content"));
  out.push(
    record.content === "" ? dim("  (empty, or not stored: FABRA_RECORD_INCLUDE_CONTENT=0)") : indent(record.content),
  );

  out.push("", heading("Integrity"));
  out.push(`  record_hash  ${record.integrity.record_hash}`);
  out.push(`  content_hash ${record.integrity.content_hash}`);
  if (record.integrity.previous_context_id) out.push(`  previous     ${record.integrity.previous_context_id}`);
  if (record.integrity.signature)
    out.push(`  signed       ${record.integrity.signed_at ?? ""} by ${record.integrity.signing_key_id ?? "?"}`);
  out.push(verificationLine(verification, origin));
  return out.join("\n");
}

/** Said of an imported row wherever it is shown verified. */
export const IMPORTED_NOTE =
  "imported: brought in by `fabra context import`, not produced by this deployment's context assembly";

export function verificationLine(v: VerifyResult, origin: RowOrigin = {}): string {
  const imported = origin.imported ? `\n  ${chalk.yellow(IMPORTED_NOTE)}` : "";
  if (v.ok) {
    const sig = v.checks.find((c) => c.name === "signature");
    const note = sig
      ? sig.skipped
        ? ` (signature not checked: ${sig.skipped})`
        : ` (signature valid${sig.keyId !== undefined ? `, key ${sig.keyId}` : ""})`
      : " (hash matches)";
    return `  ${ok("Record integrity verified")}${dim(note)}${imported}`;
  }
  const f = v.failed;
  return `  ${bad(`Record integrity FAILED: ${f?.name} mismatch`)}\n    expected ${f?.expected}\n    actual   ${f?.actual}${imported}`;
}

function sourceLabel(source: string): string {
  return source === "fallback" ? chalk.yellow(source) : source;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => "  " + l)
    .join("\n");
}
