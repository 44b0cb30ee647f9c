// `fabra serve` as a library call: open the project, start the server with its background services, announce
// it, and shut down gracefully on SIGTERM / SIGINT (a second signal cuts open connections at once), or when the
// parent process dies (npx does not forward SIGTERM: without this the server would outlive it, holding the file).
import { isFabraError, FabraError } from "../errors.js";
import { createFabraFromConfig } from "../engine/create.js";
import { resolveProject, type ProjectOptions } from "../app/project.js";
import { isLoopback } from "./auth.js";
import { startServer, type RunningServer } from "./serve.js";
import { backgroundServices, ingestService, logSequencerService } from "./services.js";
import { readLiveState, stateFilePath } from "../remote/state-file.js";
import { describeStores, embeddedFile } from "../stores/index.js";

export interface RunServerOptions extends ProjectOptions {
  port?: number;
  host?: string;
  /** Run background services (the refresh scheduler). Default true. */
  scheduler?: boolean;
  /** Consume ingested events in this process (default true; with Redis, `fabra worker`s may do it instead). */
  ingest?: boolean;
  /** How the ingest consumer retries: claim-idle time and max deliveries (defaults 30 s and 5, as `fabra worker`). */
  ingestRetry?: { claimIdleMs?: number; maxAttempts?: number };
  drainTimeoutMs?: number;
  /** Lines for the operator (default stdout / stderr). */
  say?: (line: string) => void;
  warn?: (line: string) => void;
  /** `fabra ui`: announce the record viewer's URL first (the server is the same). */
  viewer?: boolean;
  /** Called once listening (tests use it to find the port). */
  onListening?: (server: RunningServer) => void;
}

/** Serves until a signal arrives and the shutdown has finished. */
export async function runServer(opts: RunServerOptions): Promise<void> {
  const say = opts.say ?? ((line: string) => process.stdout.write(line + "\n"));
  const warn = opts.warn ?? ((line: string) => process.stderr.write(`fabra serve: warning: ${line}\n`));
  const config = await resolveProject(opts);
  const duckdbFile = embeddedFile(config.stores);

  let runtime;
  try {
    runtime = await createFabraFromConfig(config, { warn });
  } catch (err) {
    const other =
      isFabraError(err) && err.code === "LEDGER_LOCKED" && duckdbFile
        ? await readLiveState(stateFilePath(duckdbFile))
        : null;
    if (other) {
      throw new FabraError(
        "LEDGER_LOCKED",
        `A fabra server (PID ${other.pid}) is already serving ${duckdbFile} at ${other.url}`,
        {
          hint: "Use that server, stop it first, or serve another ledger (FABRA_DUCKDB_PATH). For several servers on one ledger use the postgres stores.",
        },
      );
    }
    throw err;
  }

  const host = opts.host ?? config.server.host;
  const apiKeys = config.server.apiKeys;
  const scheduled = opts.scheduler === false ? [] : backgroundServices(runtime);
  const ingest = opts.ingest === false ? null : ingestService(runtime, opts.ingestRetry);
  const services = [...scheduled, ...(ingest ? [ingest] : []), logSequencerService(runtime)];
  let server: RunningServer;
  try {
    server = await startServer({
      runtime,
      host,
      port: opts.port ?? config.server.port,
      bodyLimit: config.server.bodyLimit,
      apiKeys,
      services,
      drainTimeoutMs: opts.drainTimeoutMs,
      // Only an embedded file needs the state file: other processes cannot open it while we hold it.
      stateFile:
        duckdbFile && !runtime.stores.records.capabilities.concurrentWriters ? stateFilePath(duckdbFile) : null,
      log: (line) => process.stderr.write(`fabra serve: ${line}\n`),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }

  if (opts.ingest === false && !runtime.stores.events.capabilities.sharedAcrossProcesses && ingestService(runtime)) {
    warn(
      "--no-ingest with the in-process event queue: events POSTed to /v1/ingest/{event} are queued here and never consumed (use the redis online store for workers to consume them)",
    );
  }
  if (apiKeys.length === 0) {
    warn(
      `no API keys are set (FABRA_API_KEYS), so only loopback clients are allowed${isLoopback(host) || host === "localhost" ? "" : ` although it listens on ${host}`}`,
    );
  }
  if (opts.viewer) say(`fabra ui: the record viewer is at ${server.url}/ui`);
  say(`fabra serving on ${server.url}`);
  const { features, contexts, retrievers } = runtime.definitions;
  if (features.size + contexts.size + retrievers.size === 0) {
    warn(
      `it serves no definitions (no features, retrievers or contexts${config.configPath === null ? ": no fabra config was found" : ` in ${config.configPath}`}), only the ledger`,
    );
  }
  const stores = describeStores(config.stores);
  say(`  ledger     ${stores.offline}`);
  say(`  cache      ${stores.online}`);
  say(`  vectors    ${stores.vector}`);
  say(`  auth       ${apiKeys.length > 0 ? `API keys (${apiKeys.length})` : "loopback only"}`);
  say(
    `  scheduler  ${opts.scheduler === false ? "off (--no-scheduler)" : scheduled.length > 0 ? scheduled.map((s) => s.description).join("; ") : "no scheduled features"}`,
  );
  say(
    `  events     ${opts.ingest === false ? "not consumed here (--no-ingest)" : ingest ? ingest.description : "no feature declares triggers"}`,
  );
  say(`  routes     ${server.url}/openapi.json`);
  say(`  viewer     ${server.url}/ui`);
  opts.onListening?.(server);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      say(`${signal}: shutting down (draining requests in flight; send it again to cut them off)`);
      server
        .close()
        .catch((err: unknown) => warn(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`));
    } else {
      void server.close({ force: true });
    }
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // A dead parent may have held our stdout / stderr pipes: writing to them then fails with EPIPE, which must not
  // crash the shutdown (the state file would stay behind).
  const ignoreBrokenPipe = (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
  };
  process.stdout.on("error", ignoreBrokenPipe);
  process.stderr.on("error", ignoreBrokenPipe);
  const stopWatching = watchParent(() => {
    say("the parent process exited: shutting down (draining requests in flight)");
    onSignal("SIGTERM");
  });
  try {
    await server.closed;
    say("fabra server stopped");
  } finally {
    stopWatching();
    process.stdout.off("error", ignoreBrokenPipe);
    process.stderr.off("error", ignoreBrokenPipe);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

/** How often serve checks that the process that started it is still alive. */
const PARENT_POLL_MS = 1_000;

/**
 * Calls `onOrphaned` once when this process's parent changes (it died and we were re-parented, e.g. to init): a
 * wrapper such as npx that got SIGTERM and did not forward it. A server started by init (ppid 1) or as PID 1 in a
 * container is not watched.
 */
function watchParent(onOrphaned: () => void): () => void {
  const parent = process.ppid;
  if (parent <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, PARENT_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
