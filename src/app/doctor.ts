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
import { failedCheck } from "../stores/check.js";
import { probeStores } from "../stores/index.js";
import type { StoreCheck } from "../stores/types.js";
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
    config = await resolveProject(opts);
  } catch (err) {
    return { ok: false, config: null, checks: [failedCheck("config", err)] };
  }
  const checks: Check[] = [
    { name: "config", state: "ok", detail: config.configPath ?? "no config file: defaults (local mode)" },
  ];
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
        ? `${mode}: records are signed with key ${key.id}`
        : `${mode}: no FABRA_SIGNING_KEY, so records are not signed`,
    };
  } catch (err) {
    return failedCheck("signing", err);
  }
}
