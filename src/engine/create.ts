// createFabra(): the library entry point. Resolves config, opens the configured stores, loads and binds
// the definitions, and returns the runtime (`fabra.getFeature`, `fabra.assemble`, `fabra.index.add` ...).
import type { FabraConfig } from "../config/schema.js";
import { resolveConfig, type ResolvedConfig } from "../config/resolve.js";
import { addDefinitions, type Definitions } from "../define/collect.js";
import { loadDefinitionModules } from "../define/load.js";
import { checkDefinitions } from "./definition-checks.js";
import { checkHistoryTables } from "./features/history-table.js";
import { createEmbedder } from "./retrieval/embedder.js";
import { encoderFor } from "./context/tokens.js";
import { FabraRuntime } from "./runtime.js";
import { fabraVersion, gitCodeVersion } from "../util/version.js";
import { signingSettings } from "../config/signing.js";
import { createStores } from "../stores/index.js";

export { FabraRuntime };

export interface CreateFabraOptions extends Omit<FabraConfig, "definitions"> {
  /** Definition objects (e.g. `{ user, userTier, chatContext }` or `import * as defs`), or module paths. */
  definitions?: Record<string, unknown> | Record<string, unknown>[] | string[];
  /** Base directory for relative paths (default: process.cwd()). */
  cwd?: string;
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
}

/** Creates a fabra runtime from inline options (no config file is read; FABRA_* env vars still apply). */
export async function createFabra(options: CreateFabraOptions = {}): Promise<FabraRuntime> {
  const { definitions, cwd = process.cwd(), warn, ...config } = options;
  const paths =
    Array.isArray(definitions) && definitions.every((d) => typeof d === "string") ? (definitions as string[]) : [];
  const objects =
    paths.length > 0 || definitions === undefined
      ? []
      : Array.isArray(definitions)
        ? (definitions as Record<string, unknown>[])
        : [definitions];
  const resolved = resolveConfig(
    { config: { ...config, definitions: paths }, configPath: null, rootDir: cwd },
    undefined,
    cwd,
  );
  return createFabraFromConfig(resolved, { objects, warn });
}

export async function createFabraFromConfig(
  config: ResolvedConfig,
  extra: { objects?: Record<string, unknown>[]; warn?: (message: string) => void } = {},
): Promise<FabraRuntime> {
  const warn = extra.warn ?? ((message: string) => process.stderr.write(`fabra: warning: ${message}\n`));
  const codeVersion = config.codeVersion ?? gitCodeVersion(config.rootDir); // git answers while the rest loads
  const definitions: Definitions = await loadDefinitionModules(config.definitions);
  (extra.objects ?? []).forEach((exports, i) => {
    addDefinitions(definitions, exports, `definitions[${i}]`);
  });
  checkDefinitions(definitions);

  const signing = signingSettings(config);
  const embedder = createEmbedder(config.embedder);
  // The stores open (DuckDB and the databases work off the main thread) while each context's tokenizer is built
  // here, so the first assembly's recorded latency is the assembly's own and start-up pays for the two at once.
  const opening = createStores(config, { dimensions: embedder.dimensions });
  try {
    for (const def of definitions.contexts.values()) encoderFor(def.options.model);
  } catch (err) {
    await opening.then((opened) => opened.close()).catch(() => undefined);
    throw err;
  }
  const stores = await opening;
  // A feature's history table must exist with its columns: checked here, so a typo fails at start, naming it.
  if ([...definitions.features.values()].some((def) => def.options.history !== undefined)) {
    try {
      await checkHistoryTables(definitions.features, stores.offline);
    } catch (err) {
      await stores.close().catch(() => undefined);
      throw err;
    }
  }
  return new FabraRuntime(stores, definitions, {
    environment: config.environment,
    evidenceMode: config.evidence.mode,
    includeContent: config.evidence.includeContent,
    maxRecordBytes: config.evidence.maxRecordBytes,
    telemetry: config.telemetry,
    signing,
    codeVersion: await codeVersion,
    fabraVersion: fabraVersion(),
    warn,
    embedder,
    chunking: config.chunking,
    transparencyLog: config.ledger,
  });
}
