// `fabra doctor` as a library: checks the config, signing, the definitions (they load, and every option is valid)
// and every configured store (connectivity, versions, migrations, pgvector, ledger writability), and returns one
// ✓/!/✗ line per check with a fix: what makes every command fail shows up here first.
import { printableConfig } from "../config/printable.js";
import type { ResolvedConfig } from "../config/resolve.js";
import { loadDefinitionModules } from "../define/load.js";
import { definitionProblems } from "../engine/definition-checks.js";
import { createEmbedder } from "../engine/retrieval/embedder.js";
import { FabraError } from "../errors.js";
import { signingSettings } from "../config/signing.js";
import { resolveProject, type ProjectOptions } from "./project.js";
import { offlineTarget, openRecordStore, redisTarget, vectorTarget } from "../stores/index.js";
import type { Check } from "../stores/probe.js";

export type { Check };

export interface DoctorReport {
  ok: boolean;
  config: Record<string, unknown> | null;
  checks: Check[];
}

const failed = (name: string, err: unknown): Check => {
  const e = err instanceof FabraError ? err : null;
  return { name, state: "fail", detail: e?.message ?? String((err as Error)?.message ?? err), fix: e?.hint };
};

export async function runDoctor(opts: ProjectOptions): Promise<DoctorReport> {
  let config: ResolvedConfig;
  try {
    config = await resolveProject(opts);
  } catch (err) {
    return { ok: false, config: null, checks: [failed("config", err)] };
  }
  const checks: Check[] = [{ name: "config", state: "ok", detail: config.configPath ?? "no config file: defaults (local mode)" }];
  checks.push(checkSigning(config));
  checks.push(...(await checkDefinitions(config)));

  let dims = 0;
  try {
    dims = createEmbedder(config.embedder).dimensions;
    checks.push({ name: "embedder", state: "ok", detail: `${config.embedder.type}, ${dims} dimensions` });
  } catch (err) {
    checks.push(failed("embedder", err));
  }

  const { offline, online, vector } = config.stores;
  const probe = offline.type === "postgres" || online.type === "redis" || vector.type === "pgvector" ? await import("../stores/probe.js") : null;
  if (offline.type === "duckdb") {
    checks.push(await checkDuckLedger(config));
  } else if (probe) {
    const sameAsVector = vector.type === "pgvector" && vector.url === offline.url && vector.schema === offline.schema;
    checks.push(...(await probe.probePostgres(offlineTarget(offline), { ledger: true, history: true, vector: sameAsVector, embedderDims: dims })));
  }
  if (online.type === "memory") checks.push({ name: "stores.online", state: "ok", detail: "memory: in-process cache (one process; use redis for several)" });
  else if (probe) checks.push(...(await probe.probeRedis(redisTarget(online), online)));
  if (vector.type === "memory") checks.push({ name: "stores.vector", state: "ok", detail: "memory: exact cosine search in process" });
  else if (probe && !(offline.type === "postgres" && vector.url === offline.url && vector.schema === offline.schema)) {
    checks.push(...(await probe.probePostgres(vectorTarget(vector), { ledger: false, vector: true, embedderDims: dims })));
  }
  return { ok: checks.every((c) => c.state !== "fail"), config: printableConfig(config), checks };
}

/** The definitions load, and every definition's options are valid (each problem its own line). */
async function checkDefinitions(config: ResolvedConfig): Promise<Check[]> {
  try {
    const defs = await loadDefinitionModules(config.definitions);
    const problems = definitionProblems(defs);
    if (problems.length > 0) return problems.map((p) => failed("definitions", p));
    return [{ name: "definitions", state: "ok", detail: `${defs.features.size} features, ${defs.retrievers.size} retrievers, ${defs.contexts.size} contexts` }];
  } catch (err) {
    return [failed("definitions", err)];
  }
}

/** The signing mode with its key, as every command that writes or verifies records reads them. */
function checkSigning(config: ResolvedConfig): Check {
  try {
    const { mode, key } = signingSettings(config);
    if (mode === "off") {
      return key
        ? { name: "signing", state: "warn", detail: "off, although FABRA_SIGNING_KEY is set: records are not signed", fix: "Set FABRA_SIGNATURE_MODE=optional (or required) to sign records, or unset FABRA_SIGNING_KEY." }
        : { name: "signing", state: "ok", detail: "off: records are not signed" };
    }
    return { name: "signing", state: "ok", detail: key ? `${mode}: records are signed with key ${key.id}` : `${mode}: no FABRA_SIGNING_KEY, so records are not signed` };
  } catch (err) {
    return failed("signing", err);
  }
}

async function checkDuckLedger(config: ResolvedConfig): Promise<Check> {
  const path = config.stores.offline.type === "duckdb" ? config.stores.offline.path : "";
  try {
    const records = await openRecordStore(config);
    try {
      return { name: "stores.offline (DuckDB)", state: "ok", detail: `${path}: opened for writing, ${await records.count()} records` };
    } finally {
      await records.close();
    }
  } catch (err) {
    return failed("stores.offline (DuckDB)", err);
  }
}
