// Small text helpers shared by the command views: tables, truncation, durations, values.
import chalk from "chalk";
import { canonicalJson } from "../../record/canonical.js";
import type { JsonValue } from "../../record/json.js";

/** A plain text table; columns padded to the widest cell (by code points). */
export function table(headers: string[], rows: string[][]): string {
  const width = (s: string) => [...stripAnsi(s)].length;
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - width(c)))).join("  ");
  return [chalk.bold(line(headers)), ...rows.map(line)].join("\n");
}

export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, "");
}

/** Text from a record or a user's code, with control characters escaped: it must not be able to drive the terminal. */
export function escapeControls(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

export function truncate(s: string, max: number): string {
  const oneLine = s.replace(/\s+/g, " ").trim();
  const chars = [...oneLine];
  return chars.length <= max ? oneLine : chars.slice(0, max - 1).join("") + "…";
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = s / 60;
  if (m < 60) return `${Math.floor(m)}m ${Math.round(s % 60)}s`;
  const h = m / 60;
  if (h < 48) return `${Math.floor(h)}h ${Math.round(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${Math.round(h % 24)}h`;
}

/** A record value as compact JSON text (kind-preserving, so 12.0 shows as 12.0). */
export function showValue(v: JsonValue, max = 60): string {
  // Non-ASCII is shown as itself; control characters stay escaped (a record must not be able to drive the terminal).
  const text = canonicalJson(v).replace(/\\u([0-9a-f]{4})/g, (escaped: string, hex: string) => {
    const code = parseInt(hex, 16);
    return code < 0x20 || (code >= 0x7f && code < 0xa0) ? escaped : String.fromCharCode(code);
  });
  return truncate(text, max);
}

export const ok = (text: string) => `${chalk.green("✓")} ${text}`;
export const bad = (text: string) => `${chalk.red("✗")} ${text}`;
export const warn = (text: string) => `${chalk.yellow("!")} ${text}`;
export const heading = (text: string) => chalk.bold.underline(text);
export const dim = (text: string) => chalk.dim(text);
