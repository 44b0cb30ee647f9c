// `fabra doctor` as a library: checks the config, signing, the definitions (they load, and every option is valid)
// and every configured store (connectivity, versions, migrations, pgvector, ledger writability), and returns one
// ✓/!/✗ line per check with a fix: what makes every command fail shows up here first. The ledger line counts what
// is stored (signed, unsigned, imported), never what the config says new records will be. A feature's history
// table is checked against the offline store (it exists, with its columns).
import { printableConfig } from "../config/printable.js";
import type { ResolvedConfig } from "../config/resolve.js";
import { loadDefinitionModules } from "../define/load.js";
import { definitionProblems } from "../engine/definition-checks.js";
import { createEmbedder } from "../engine/retrieval/embedder.js";
import { signingSettings } from "../config/signing.js";
import { resolveProject, type ProjectOptions } from "./project.js";
import { failedCheck } from "../stores/check.js";
import { checkHistoryTables } from "../engine/features/history-table.js";
import { openOfflineStore, openRecordStore, probeStores } from "../stores/index.js";
import type { OfflineStore, RecordStore, StoreCheck } from "../stores/types.js";
import { plural } from "../util/plural.js";

export type Check = StoreCheck;

export interface DoctorReport {
  ok: boolean;
  config: Record<string, unknown> | null;
  checks: Check[];
}

export async function runDoctor(opts: ProjectOptions): Promise<DoctorReport> {
  let config: ResolvedConfig;
  try {
    config = await resolveProject({ ...opts, onWarning: undefined }); // shown below as failed checks instead
  } catch (err) {
    return { ok: false, config: null, checks: [failedCheck("config", err)] };
  }
  const checks: Check[] = [
    { name: "config", state: "ok", detail: config.configPath ?? "no config file: defaults (local mode)" },
  ];
  for (const w of config.warnings) checks.push({ name: "config", state: "fail", detail: w.message, fix: w.fix });
  checks.push(checkSigning(config));
  checks.push(...(await checkDefinitions(config)));

  let dims = 0;
  try {
    dims = createEmbedder(config.embedder).dimensions;
    checks.push({ name: "embedder", state: "ok", detail: `${config.embedder.type}, ${dims} dimensions` });
  } catch (err) {
    checks.push(failedCheck("embedder", err));
  }

  checks.push(...(await probeStores(config, { dimensions: dims })));
  checks.push(...(await checkHistoryTableChecks(config)));
  const ledger = await checkLedgerRecords(config);
  if (ledger) checks.push(ledger);
  return { ok: checks.every((c) => c.state !== "fail"), config: printableConfig(config), checks };
}

/** The definitions load, and every definition's options are valid (each problem its own line). */
async function checkDefinitions(config: ResolvedConfig): Promise<Check[]> {
  try {
    const defs = await loadDefinitionModules(config.definitions);
    const problems = definitionProblems(defs);
    if (problems.length > 0) return problems.map((p) => failedCheck("definitions", p));
    return [
      {
        name: "definitions",
        state: "ok",
        detail: `${plural(defs.features.size, "feature")}, ${plural(defs.retrievers.size, "retriever")}, ${plural(defs.contexts.size, "context")}`,
      },
    ];
  } catch (err) {
    return [failedCheck("definitions", err)];
  }
}

/** Each feature's history table (history: { table }) exists in the offline store with its columns. */
async function checkHistoryTableChecks(config: ResolvedConfig): Promise<Check[]> {
  let defs: Awaited<ReturnType<typeof loadDefinitionModules>>;
  try {
    defs = await loadDefinitionModules(config.definitions);
  } catch {
    return []; // the definitions line says why
  }
  const features = [...defs.features].filter(([, def]) => def.options.history !== undefined);
  if (features.length === 0) return [];
  let offline: OfflineStore;
  try {
    offline = await openOfflineStore(config.stores.offline);
  } catch {
    return []; // the store's own probe line says why
  }
  const checks: Check[] = [];
  try {
    for (const [name, def] of features) {
      try {
        const [found] = await checkHistoryTables([[name, def]], offline);
        if (found) checks.push({ name: `history table of ${name}`, state: "ok", detail: found.detail });
      } catch (err) {
        checks.push(failedCheck(`history table of ${name}`, err));
      }
    }
  } finally {
    await offline.close().catch(() => undefined);
  }
  return checks;
}

/** The signing mode with its key, as every command that writes or verifies records reads them. */
function checkSigning(config: ResolvedConfig): Check {
  try {
    const { mode, key } = signingSettings(config);
    if (mode === "off") {
      return key
        ? {
            name: "signing",
            state: "warn",
            detail: "off, although FABRA_SIGNING_KEY is set: records are not signed",
            fix: "Set FABRA_SIGNATURE_MODE=optional (or required) to sign records, or unset FABRA_SIGNING_KEY.",
          }
        : { name: "signing", state: "ok", detail: "off: records are not signed" };
    }
    return {
      name: "signing",
      state: "ok",
      detail: key
        ? `${mode}: new records are signed with key ${key.id}`
        : `${mode}: no FABRA_SIGNING_KEY, so new records are not signed`,
    };
  } catch (err) {
    return failedCheck("signing", err);
  }
}

export interface LedgerRecordCounts {
  total: number;
  signed: number;
  unsigned: number;
  /** Rows whose text is not a record at all (verification reports them). */
  unreadable: number;
  /** Brought in by `fabra context import`, not produced here. */
  imported: number;
}

/** Counts the ledger's records by what their stored integrity says: a signature or none, and imported ones. */
export async function countLedgerRecords(records: RecordStore): Promise<LedgerRecordCounts> {
  const counts: LedgerRecordCounts = { total: 0, signed: 0, unsigned: 0, unreadable: 0, imported: 0 };
  for await (const batch of records.scan(1000)) {
    for (const row of batch) {
      counts.total++;
      if (row.imported) counts.imported++;
      const signature = storedSignature(row.canonicalText);
      if (signature === undefined) counts.unreadable++;
      else if (signature === null) counts.unsigned++;
      else counts.signed++;
    }
  }
  return counts;
}

/** The top-level integrity.signature of stored text: a string, null, or undefined when the text is not a record. */
function storedSignature(text: string): string | null | undefined {
  try {
    const integrity = (JSON.parse(text) as { integrity?: { signature?: unknown } }).integrity;
    const signature = integrity?.signature;
    return typeof signature === "string" && signature !== "" ? signature : signature === null ? null : undefined;
  } catch {
    return undefined;
  }
}

/** The ledger's signed/unsigned/imported counts; a warning when a signing key is set and some records are unsigned. */
async function checkLedgerRecords(config: ResolvedConfig): Promise<Check | null> {
  let records: RecordStore;
  try {
    records = await openRecordStore(config);
  } catch {
    return null; // the store's own probe line says why
  }
  try {
    const c = await countLedgerRecords(records);
    const detail =
      `${c.total} records: ${c.signed} signed, ${c.unsigned} unsigned` +
      (c.imported > 0 ? `, ${c.imported} imported` : "") +
      (c.unreadable > 0 ? `, ${c.unreadable} not readable as records` : "");
    let key: string | null = null;
    try {
      key = signingSettings(config).key?.id ?? null;
    } catch {
      // the signing line reports it
    }
    if ((key !== null && c.unsigned > 0) || c.unreadable > 0) {
      return {
        name: "ledger records",
        state: "warn",
        detail: key !== null && c.unsigned > 0 ? `${detail} although signing key ${key} is configured` : detail,
        fix: "Run `fabra context verify --all` to see which records fail, and why.",
      };
    }
    return { name: "ledger records", state: "ok", detail };
  } catch (err) {
    return failedCheck("ledger records", err);
  } finally {
    await records.close().catch(() => undefined);
  }
}
