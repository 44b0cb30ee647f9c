// Opening a project: find and resolve its config, then open just what a command needs (the whole runtime, or only
// the ledger). CLI commands and the server call these with `{ cwd, configPath }`. While a `fabra serve` holds the
// project's embedded DuckDB file, the ledger's store is reached through that server instead (src/remote/state-file.ts).
import { loadConfig } from "../config/load.js";
import { type ConfigWarning, DEFAULT_DUCKDB_PATH, resolveConfig, type ResolvedConfig } from "../config/resolve.js";
import { verificationSigning } from "../config/signing.js";
import { FabraError, isFabraError } from "../errors.js";
import { createFabraFromConfig, type FabraRuntime } from "../engine/create.js";
import { Ledger } from "../engine/ledger/ledger.js";
import { readLiveState, stateFilePath, type ServerState } from "../remote/state-file.js";
import { embeddedFile, openPublicRecordStore, openRecordStore, openRemoteRecordStore } from "../stores/index.js";
import { FabraHttpClient } from "../remote/client.js";
import type { RecordStore } from "../stores/types.js";

export interface ProjectOptions {
  cwd: string;
  configPath?: string | undefined;
  /** The environment settings are resolved from (default: the process's, read in src/config/). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Told about every setting that is set but unused (the CLI prints it loudly on stderr). */
  onWarning?: ((warning: ConfigWarning) => void) | undefined;
  /**
   * A fabra server to read records from instead of the project's stores (`--url` / FABRA_URL, with FABRA_API_KEY):
   * ledger commands read its public routes and verify the bytes received here; nothing is written there.
   */
  remote?: RemoteServer | undefined;
  /** Told when no project was found and the global default ledger is used (the CLI prints it on stderr). */
  notice?: ((message: string) => void) | undefined;
}

export interface RemoteServer {
  url: string;
  apiKey: string | undefined;
  /** Told once, when the first record is fetched from it (the CLI says where records came from). */
  onUse?: ((url: string) => void) | undefined;
}

/** The project's effective settings; `storesUnused`: the caller opens no store (it reads records from a server). */
export async function resolveProject(opts: ProjectOptions, storesUnused = false): Promise<ResolvedConfig> {
  const loaded = await loadConfig({ cwd: opts.cwd, configPath: opts.configPath });
  const config = resolveConfig(loaded, opts.env, opts.cwd, { storesUnused });
  for (const warning of config.warnings) opts.onWarning?.(warning);
  const notice = storesUnused ? null : noProjectNotice(config, opts.cwd);
  if (notice) opts.notice?.(notice);
  return config;
}

/**
 * What to tell a user whose command found no config file and so uses the global default ledger (a ledger set by
 * the environment was chosen on purpose, and says nothing): no project, which ledger, how to make one.
 */
export function noProjectNotice(config: ResolvedConfig, cwd: string): string | null {
  const file = embeddedFile(config.stores);
  if (config.configPath !== null || file !== DEFAULT_DUCKDB_PATH) return null;
  return `no fabra project found (no fabra.config.* in ${cwd} or above): no definitions, and the global ledger ${file}. Run \`fabra init\` or pass --config.`;
}

/**
 * Runs `fn` with the project's ledger (for ledger-only commands: no definitions loaded, no other store opened). Its
 * store opens on first use (verifying record files needs none) and is closed afterwards whatever happens.
 */
export async function withLedger<T>(
  opts: ProjectOptions,
  fn: (ledger: Ledger, config: ResolvedConfig) => Promise<T>,
): Promise<T> {
  const remote = opts.remote;
  const config = await resolveProject(opts, remote !== undefined);
  let opened: Promise<RecordStore> | null = null;
  const open = (): Promise<RecordStore> => {
    if (remote === undefined) return openLedgerStore(config);
    remote.onUse?.(remote.url);
    return openPublicRecordStore(remote.url, remote.apiKey ?? "");
  };
  const ledger = new Ledger({
    records: () => (opened ??= open()),
    signing: () => verificationSigning(config.signing),
    maxRecordBytes: config.evidence.maxRecordBytes,
  });
  try {
    return await fn(ledger, config);
  } finally {
    const store = opened === null ? null : await (opened as Promise<RecordStore>).catch(() => null);
    await store?.close();
  }
}

/** A project's ledger opened for library code: read, verify, diff, export and import records; `close()` when done. */
export type OpenLedger = Ledger & { close(): Promise<void> };

/**
 * The ledger of the project found from `opts.cwd` (its fabra.config.*, as the CLI finds it), or of the running
 * `fabra serve` holding its DuckDB file. No definitions are loaded and no other store is opened; the record store
 * opens on first use.
 */
export async function openProjectLedger(opts: ProjectOptions): Promise<OpenLedger> {
  const config = await resolveProject(opts);
  let opened: Promise<RecordStore> | null = null;
  const ledger = new Ledger({
    records: () => (opened ??= openLedgerStore(config)),
    signing: () => verificationSigning(config.signing),
    maxRecordBytes: config.evidence.maxRecordBytes,
  });
  const close = async () => {
    const store = opened === null ? null : await opened.catch(() => null);
    opened = null;
    await store?.close();
  };
  return Object.assign(ledger, { close });
}

/** Runs `fn` with the whole runtime (definitions loaded, all stores open), and closes it afterwards. */
export async function withFabra<T>(
  opts: ProjectOptions,
  fn: (fabra: FabraRuntime, config: ResolvedConfig) => Promise<T>,
): Promise<T> {
  return withFabraOrServer(opts, fn, async (_client, _config, server) => {
    throw new FabraError(
      "LEDGER_LOCKED",
      `The ledger file is held by a fabra server (PID ${server.pid}) at ${server.url}`,
      {
        hint: "This command needs the file itself: stop the server (Ctrl-C / SIGTERM) first, or use its HTTP API. `fabra context show|list|verify|diff|export|import|replay|run` work through it.",
      },
    );
  });
}

/**
 * Runs `local` with the runtime; when a `fabra serve` holds the project's DuckDB file, runs `remote` with a client
 * for that server instead (for commands the server's API can do, like run and replay).
 */
export async function withFabraOrServer<T>(
  opts: ProjectOptions,
  local: (fabra: FabraRuntime, config: ResolvedConfig) => Promise<T>,
  remote: (client: FabraHttpClient, config: ResolvedConfig, server: ServerState) => Promise<T>,
): Promise<T> {
  if (opts.remote !== undefined) throw remoteUnsupported(opts.remote);
  const config = await resolveProject(opts);
  let fabra: FabraRuntime;
  try {
    fabra = await createFabraFromConfig(config);
  } catch (err) {
    const server = await serverHolding(config, err);
    if (!server) throw err;
    return remote(new FabraHttpClient(server.url, server.token), config, server);
  }
  try {
    return await local(fabra, config);
  } finally {
    await fabra.close();
  }
}

/** `--url` names a server to read records from; commands that need the runtime do not run against it. */
function remoteUnsupported(remote: RemoteServer): FabraError {
  return new FabraError("INVALID_ARGUMENT", `This command does not run against a fabra server (--url ${remote.url})`, {
    hint: "--url / FABRA_URL works with `fabra context show|verify|diff|list|export`; use the server's HTTP API (POST /v1/context/{name}, POST /v1/contexts/{id}/replay) for the rest, or unset FABRA_URL.",
  });
}

async function openLedgerStore(config: ResolvedConfig): Promise<RecordStore> {
  try {
    return await openRecordStore(config);
  } catch (err) {
    const server = await serverHolding(config, err);
    if (!server) throw err;
    return openRemoteRecordStore(server.url, server.token);
  }
}

/** When `err` is the DuckDB file lock and the holder is a live `fabra serve` (per its state file): that server. */
async function serverHolding(config: ResolvedConfig, err: unknown): Promise<ServerState | null> {
  if (!isFabraError(err) || err.code !== "LEDGER_LOCKED") return null;
  const file = embeddedFile(config.stores);
  if (!file) return null;
  const state = await readLiveState(stateFilePath(file));
  if (!state) return null;
  const holder = err.details?.pid;
  return typeof holder === "number" && holder !== state.pid ? null : state;
}
