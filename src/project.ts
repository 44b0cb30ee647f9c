// Opening a project: find and resolve its config, then open just the stores a command needs.
// CLI commands and the server call these with `{ cwd, configPath }`.
import { loadConfig } from "./config/load.js";
import { resolveConfig, type ResolvedConfig } from "./config/resolve.js";
import { createFabraFromConfig, type FabraRuntime } from "./fabra.js";
import { openRecordStore } from "./stores/index.js";
import type { RecordStore } from "./stores/types.js";

export interface ProjectOptions {
  cwd: string;
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export async function resolveProject(opts: ProjectOptions): Promise<ResolvedConfig> {
  const env = opts.env ?? process.env;
  const loaded = await loadConfig({ cwd: opts.cwd, configPath: opts.configPath });
  return resolveConfig(loaded, env);
}

/** Runs `fn` with the project's ledger open, and closes it afterwards whatever happens. */
export async function withRecordStore<T>(opts: ProjectOptions, fn: (records: RecordStore, config: ResolvedConfig) => Promise<T>): Promise<T> {
  const config = await resolveProject(opts);
  const records = await openRecordStore(config);
  try {
    return await fn(records, config);
  } finally {
    await records.close();
  }
}

/** Runs `fn` with the whole runtime (definitions loaded, all stores open), and closes it afterwards. */
export async function withFabra<T>(opts: ProjectOptions, fn: (fabra: FabraRuntime, config: ResolvedConfig) => Promise<T>): Promise<T> {
  const config = await resolveProject(opts);
  const fabra = await createFabraFromConfig(config);
  try {
    return await fn(fabra, config);
  } finally {
    await fabra.close();
  }
}
