// The library's way into a project as the CLI sees it: `loadFabra({ cwd })` reads the fabra.config.* found from
// `cwd` up (and FABRA_* settings) and returns the runtime; `openLedger({ cwd })` returns just its ledger.
import { createFabraFromConfig, type FabraRuntime } from "../engine/create.js";
import { type OpenLedger, openProjectLedger, resolveProject } from "./project.js";

export interface LoadFabraOptions {
  /** Where to look for the config, upwards (default: the current directory). */
  cwd?: string;
  /** A config file to use instead of searching (relative to `cwd`). */
  configPath?: string;
  /** Warnings (default: stderr). */
  warn?: (message: string) => void;
}

/** The runtime of the project at `cwd`: its config file's definitions and stores, as `fabra` commands open them. */
export async function loadFabra(options: LoadFabraOptions = {}): Promise<FabraRuntime> {
  const config = await resolveProject({ cwd: options.cwd ?? process.cwd(), configPath: options.configPath });
  return createFabraFromConfig(config, options.warn ? { warn: options.warn } : {});
}

/** The ledger of the project at `cwd` (no definitions loaded): get, list, verify, verifyAll, diff, export, import. */
export async function openLedger(options: Omit<LoadFabraOptions, "warn"> = {}): Promise<OpenLedger> {
  return openProjectLedger({ cwd: options.cwd ?? process.cwd(), configPath: options.configPath });
}
