// The text view of a record diff (`fabra context diff`, `fabra context replay`): summary first, then each part,
// and the content as a coloured unified diff (plain when NO_COLOR is set).
import chalk from "chalk";
import type { RecordDiff } from "../../record/diff.js";
import type { VerifyResult } from "../../record/verify.js";
import { dim, formatMs, heading, showValue } from "./format.js";

export interface DiffVerification {
  a: VerifyResult;
  b: VerifyResult;
}

const added = (text: string) => chalk.green(`  + ${text}`);
const removed = (text: string) => chalk.red(`  - ${text}`);
const changed = (text: string) => chalk.yellow(`  ~ ${text}`);

export function renderDiff(d: RecordDiff, verification?: DiffVerification): string {
  const out: string[] = [chalk.bold(d.summary), ""];
  for (const side of ["a", "b"] as const) {
    const r = d[side];
    const v = verification?.[side];
    const status =
      v === undefined ? "" : v.ok ? chalk.green("✓ verified") : chalk.red(`✗ ${v.failed?.name} mismatch: NOT verified`);
    out.push(
      `${side.toUpperCase()}  ${chalk.cyan(r.context_id)}  ${r.context_function}  ${r.created_at}  ${status}`.trimEnd(),
    );
  }
  if (verification && (!verification.a.ok || !verification.b.ok)) {
    out.push(
      chalk.red("! a record failed verification: it was altered after it was written, so this diff is not evidence"),
    );
  }

  section(out, "Inputs", [
    ...d.inputs.changed.map((i) => changed(`${i.name}: ${showValue(i.before)} → ${showValue(i.after)}`)),
    ...d.inputs.added.map((i) => added(`${i.name}: ${showValue(i.value)}`)),
    ...d.inputs.removed.map((i) => removed(`${i.name}: ${showValue(i.value)}`)),
  ]);

  section(out, "Features", [
    ...d.features.changed.map((f) => {
      const name = `${f.name}(${f.entity_id})`;
      const provenance = `${f.before.source}, age ${formatMs(f.before.freshness_ms)} → ${f.after.source}, age ${formatMs(f.after.freshness_ms)}`;
      return f.value_changed
        ? changed(
            `${name}: ${showValue(f.before.value, 40)} → ${showValue(f.after.value, 40)}  ${dim(`(${provenance})`)}`,
          )
        : dim(`  · ${name}: ${showValue(f.after.value, 40)} unchanged, refreshed (${provenance})`);
    }),
    ...d.features.added.map((f) =>
      added(
        `${f.name}(${f.entity_id}) = ${showValue(f.value, 40)}  ${dim(`(${f.source}, age ${formatMs(f.freshness_ms)})`)}`,
      ),
    ),
    ...d.features.removed.map((f) =>
      removed(
        `${f.name}(${f.entity_id}) = ${showValue(f.value, 40)}  ${dim(`(${f.source}, age ${formatMs(f.freshness_ms)})`)}`,
      ),
    ),
  ]);

  section(out, "Retrieved chunks", [
    ...d.retrieved_items.added.map((c) =>
      added(
        `${c.retriever} ${c.chunk_id} (${c.document_id})  similarity ${c.similarity.toFixed(3)}, ${c.token_count} tokens`,
      ),
    ),
    ...d.retrieved_items.removed.map((c) =>
      removed(
        `${c.retriever} ${c.chunk_id} (${c.document_id})  similarity ${c.similarity.toFixed(3)}, ${c.token_count} tokens`,
      ),
    ),
    ...d.retrieved_items.changed.map((c) => {
      const notes = [
        c.similarity_delta === 0
          ? `similarity ${c.similarity_after.toFixed(3)}`
          : `similarity ${c.similarity_before.toFixed(3)} → ${c.similarity_after.toFixed(3)} (${signed(c.similarity_delta, 3)})`,
        ...(c.content_changed ? ["content changed (re-indexed)"] : []),
        ...(c.priority_before !== c.priority_after ? [`priority ${c.priority_before} → ${c.priority_after}`] : []),
      ];
      return changed(`${c.retriever} ${c.chunk_id}  ${notes.join(", ")}`);
    }),
  ]);

  const drop = (x: { source_id: string; priority: number | bigint; token_count: number | bigint; reason: string }) =>
    `${x.source_id} (priority ${x.priority}, ${x.token_count} tokens, ${x.reason})`;
  section(out, "Dropped items", [
    ...d.dropped_items.only_in_a.map((x) => removed(`only in A: ${drop(x)}`)),
    ...d.dropped_items.only_in_b.map((x) => added(`only in B: ${drop(x)}`)),
    ...(d.dropped_items.in_both.length > 0
      ? [dim(`  dropped in both: ${d.dropped_items.in_both.map((x) => x.source_id).join(", ")}`)]
      : []),
  ]);

  const c = d.content;
  out.push(
    "",
    heading(
      c.identical
        ? "Content (identical)"
        : `Content (${(c.similarity * 100).toFixed(1)}% similar, +${c.lines_added} -${c.lines_removed} lines)`,
    ),
  );
  if (c.not_stored.length > 0) {
    out.push(
      dim(
        `  content not stored in ${c.not_stored.map((s) => s.toUpperCase()).join(" and ")} (FABRA_RECORD_INCLUDE_CONTENT=0): compared by hash only`,
      ),
    );
  }
  for (const line of c.unified) out.push(colourDiffLine(line));

  const t = d.tokens;
  const cost = d.estimated_cost_usd;
  out.push(
    "",
    `${chalk.bold("Tokens")} ${t.a} → ${t.b} (${signed(t.delta, 0)})   ${chalk.bold("cost")} $${cost.a.toFixed(6)} → $${cost.b.toFixed(6)} (${signed(cost.delta, 6, "$")})   ` +
      `${chalk.bold("freshness")} ${d.freshness_status.a} → ${d.freshness_status.b}`,
  );
  return out.join("\n");
}

function section(out: string[], title: string, lines: string[]): void {
  out.push("", heading(title));
  out.push(...(lines.length > 0 ? lines : [dim("  (same)")]));
}

/** Content lines are shown with control characters escaped (a record must not be able to drive the terminal). */
function colourDiffLine(raw: string): string {
  // eslint-disable-next-line no-control-regex
  const line = raw.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f]/g,
    (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  if (line.startsWith("---") || line.startsWith("+++")) return chalk.bold(line);
  if (line.startsWith("@@")) return chalk.cyan(line);
  if (line.startsWith("+")) return chalk.green(line);
  if (line.startsWith("-")) return chalk.red(line);
  return line;
}

function signed(n: number, digits: number, unit = ""): string {
  const sign = n > 0 ? "+" : n < 0 ? "-" : "±";
  return `${sign}${unit}${Math.abs(n).toFixed(digits)}`;
}
