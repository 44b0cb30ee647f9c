// summary.md of a pack: the record as a support engineer reads it in a ticket. Everything from the record is
// untrusted text: values sit in code spans and the content in a fenced block whose fence is longer than any run of
// backticks inside, so no link, image or HTML in a record renders in the ticket system.
import { toJsonText } from "../../record/json.js";
import type { ContextRecord } from "../../record/types.js";
import type { VerifyResult } from "../../record/verify.js";
import type { InclusionProofFile } from "./log.js";
import type { OutcomeEntry } from "./outcome.js";

export interface SummaryInput {
  record: ContextRecord;
  verification: VerifyResult;
  imported: boolean;
  proof: InclusionProofFile | null;
  proofMissing: string | null;
  outcomes: OutcomeEntry[];
  baseline: ContextRecord | null;
}

/** Text as an inline code span: on one line, fenced by more backticks than it holds in a row. */
export function code(text: string): string {
  const flat = text.replace(/[\r\n]+/g, " ");
  const fence = "`".repeat(longestRun(flat) + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") || flat === "" ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** Text as a fenced block, inert whatever it holds. */
export function block(text: string, info = "text"): string {
  const fence = "`".repeat(Math.max(3, longestRun(text) + 1));
  return `${fence}${info}\n${text}${text.endsWith("\n") ? "" : "\n"}${fence}`;
}

function longestRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}

const value = (v: unknown) => code(toJsonText(v as never));

export function packSummary(s: SummaryInput): string {
  const r = s.record;
  const a = r.assembly;
  const out: string[] = [];
  out.push(`# Context record ${code(r.context_id)}`, "");
  out.push(
    `- function: ${code(r.context_function)}`,
    `- created: ${code(r.created_at)} in ${code(r.environment)}`,
    `- tokens: ${a.tokens_used} used of ${a.max_tokens ?? "unlimited"}; ${a.items_included} of ${a.items_provided} items included, ${a.dropped_items.length} dropped`,
    `- freshness: ${code(a.freshness_status)}${a.freshness_violations.length > 0 ? ` (over the SLA: ${a.freshness_violations.map(code).join(", ")})` : ""}`,
    `- record_hash: ${code(r.integrity.record_hash)}`,
    `- verification: ${s.verification.ok ? "verified (record hash, content hash" : "FAILED"}${s.verification.ok ? (r.integrity.signature ? ", signature)" : "; unsigned)") : `: ${s.verification.failed?.name ?? "?"}`}`,
  );
  if (s.imported) out.push("- imported: brought in by `fabra context import`, not produced by this deployment");
  out.push(
    s.proof
      ? `- transparency log: leaf ${s.proof.leaf_index} of ${s.proof.tree_size} under the signed checkpoint in checkpoint.txt`
      : `- transparency log: no inclusion proof in this pack (${s.proofMissing ?? "unavailable"})`,
  );
  if (s.baseline) out.push(`- baseline: ${code(s.baseline.context_id)} (diff.patch: baseline → this record)`);
  out.push("", "## Inputs", "");
  for (const [k, v] of Object.entries(r.inputs)) out.push(`- ${code(k)}: ${value(v)}`);
  out.push("", "## Features", "");
  if (r.features.length === 0) out.push("(none)");
  for (const f of r.features)
    out.push(
      `- ${code(f.name)} (${code(f.entity_id)}) = ${value(f.value)} — source ${f.source}, as of ${code(f.as_of)}, ${f.freshness_ms} ms old`,
    );
  out.push("", "## Retrieved chunks", "");
  if (r.retrieved_items.length === 0) out.push("(none)");
  for (const c of r.retrieved_items)
    out.push(
      `- ${code(c.chunk_id)} of ${code(c.document_id)}: similarity ${toJsonText(c.similarity_score as never)}, ${c.token_count} tokens, priority ${c.priority}${c.is_stale ? ", STALE" : ""}`,
    );
  out.push("", "## Dropped items", "");
  if (a.dropped_items.length === 0) out.push("(none)");
  for (const d of a.dropped_items)
    out.push(`- ${code(d.source_id)}: ${d.token_count} tokens, priority ${d.priority}, ${d.reason}`);
  if (s.outcomes.length > 0) {
    out.push("", "## Model outcomes", "");
    for (const o of s.outcomes)
      out.push(
        `- ${code(o.provider)} ${code(o.model ?? "?")} response ${code(o.response_id ?? "?")}: ${o.finish_reason ?? "?"}, ${o.latency_ms} ms${o.error ? `, error ${code(o.error)}` : ""}`,
      );
  }
  out.push("", "## Content", "", block(r.content), "");
  out.push(
    "## Checking this pack",
    "",
    "```sh",
    "fabra context verify --file pack.zip                 # the record's hashes (and signature, with the keys)",
    "fabra context verify --file pack.zip --key VKEY      # and its inclusion under the signed checkpoint",
    "```",
    "",
  );
  return out.join("\n");
}
