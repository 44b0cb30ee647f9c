// `fabra serve` as a library call: open the project, start the server with its background services, announce
// it, and shut down gracefully on SIGTERM / SIGINT (a second signal cuts open connections at once).
import { isFabraError, FabraError } from "../errors.js";
import { createFabraFromConfig } from "../engine/create.js";
import { resolveProject, type ProjectOptions } from "../app/project.js";
import { isLoopback } from "./auth.js";
import { startServer, type RunningServer } from "./serve.js";
import { backgroundServices, logSequencerService } from "./services.js";
import { readLiveState, stateFilePath } from "../remote/state-file.js";
import { describeStores, embeddedFile } from "../stores/index.js";

export interface RunServerOptions extends ProjectOptions {
  port?: number;
  host?: string;
  /** Run background services (the refresh scheduler). Default true. */
  scheduler?: boolean;
  drainTimeoutMs?: number;
  /** Lines for the operator (default stdout / stderr). */
  say?: (line: string) => void;
  warn?: (line: string) => void;
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
  const services = [...scheduled, logSequencerService(runtime)];
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

  if (apiKeys.length === 0) {
    warn(
      `no API keys are set (FABRA_API_KEYS), so only loopback clients are allowed${isLoopback(host) || host === "localhost" ? "" : ` although it listens on ${host}`}`,
    );
  }
  say(`fabra serving on ${server.url}`);
  const stores = describeStores(config.stores);
  say(`  ledger     ${stores.offline}`);
  say(`  cache      ${stores.online}`);
  say(`  vectors    ${stores.vector}`);
  say(`  auth       ${apiKeys.length > 0 ? `API keys (${apiKeys.length})` : "loopback only"}`);
  say(
    `  scheduler  ${opts.scheduler === false ? "off (--no-scheduler)" : scheduled.length > 0 ? scheduled.map((s) => s.description).join("; ") : "no scheduled features"}`,
  );
  say(`  routes     ${server.url}/openapi.json`);
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
  try {
    await server.closed;
    say("fabra server stopped");
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
