// Running the server: listen, start background services, write the state file; on close, stop accepting, drain
// the requests in flight (new ones get 503), stop services, close the stores, remove the state file.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { Server as NetServer, type AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { FabraRuntime } from "../engine/runtime.js";
import { clientConnected } from "../util/company.js";
import { fabraVersion } from "../util/version.js";
import { FabraError } from "../errors.js";
import { createApp } from "./app.js";
import { featureReadLane } from "./routes/features.js";
import { createAuth } from "./auth.js";
import { createServerMetrics, storeMetricsObserver, type ServerMetrics } from "./metrics.js";
import type { BackgroundService } from "./services.js";
import { removeStateFile, writeStateFile } from "../remote/state-file.js";
import type { ServerDeps } from "./types.js";

export interface ServeOptions {
  runtime: FabraRuntime;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest request body in bytes. */
  bodyLimit: number;
  /** Accepted API keys; none → only loopback clients. */
  apiKeys: readonly string[];
  /** Started after listening, stopped (in reverse order) before the stores close. The scheduler plugs in here. */
  services?: BackgroundService[];
  /** How long close() waits for requests in flight before cutting connections (default 10 s). */
  drainTimeoutMs?: number;
  /** Written once listening (pid, url, local token), removed on close: lets `fabra context ...` reach this server. */
  stateFile?: string | null;
  /**
   * Whether POST /v1/ledger/rows exists (for the per-run token only). Default: when the ledger is a local file other
   * processes cannot open (no concurrent writers), never on Postgres.
   */
  ledgerWrites?: boolean;
  /** Where faults and lifecycle notes go (default stderr). */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  /** The per-run token `fabra context ...` in another terminal authenticates with (also in the state file). */
  localToken: string;
  metrics: ServerMetrics;
  /** Graceful shutdown; `force` cuts open connections at once. Resolves when everything is closed. */
  close(options?: { force?: boolean }): Promise<void>;
  /** Resolves when the server has closed (by close() or a signal handler calling it). */
  readonly closed: Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`fabra serve: ${line}\n`));
  const localToken = randomBytes(32).toString("hex");
  const metrics = createServerMetrics();
  const runtime = options.runtime;
  const deps: ServerDeps = {
    runtime,
    metrics,
    auth: createAuth(options.apiKeys, localToken),
    bodyLimit: options.bodyLimit,
    state: { draining: false, inFlight: 0 },
    log,
    version: fabraVersion(),
    // A server over a ledger other processes cannot open (an embedded DuckDB file) takes their appends; a shared
    // ledger (Postgres) is appended to by each process itself, so no write route exists there.
    ledgerWrites: options.ledgerWrites ?? !runtime.stores.records.capabilities.concurrentWriters,
  };
  const app = createApp(deps);
  const routed = getRequestListener(app.fetch);
  // Plain cached feature reads are answered in front of hono's adapter (routes/features.ts).
  const lane = featureReadLane(deps);
  const server = createServer((incoming, outgoing) => {
    if (!lane(incoming, outgoing)) void routed(incoming, outgoing);
  });
  server.keepAliveTimeout = 5_000;
  // Connected clients are company for the ledger's writes (util/company.ts).
  server.on("connection", (socket) => socket.once("close", clientConnected()));

  await listen(server, options.host, options.port);
  // Every store call the runtime makes is timed and counted; ledger writes (assemblies, replays, appends over HTTP) by outcome.
  const unobserve = runtime.stores.observe(storeMetricsObserver(metrics));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  // Clients on this machine (the state file's readers) reach a wildcard listener through loopback.
  const localUrl =
    options.host === "0.0.0.0" ? `http://127.0.0.1:${port}` : options.host === "::" ? `http://[::1]:${port}` : url;

  const services = options.services ?? [];
  const started: BackgroundService[] = [];
  try {
    for (const service of services) {
      await service.start({ metrics, log });
      started.push(service);
    }
    if (options.stateFile)
      await writeStateFile(options.stateFile, {
        pid: process.pid,
        url: localUrl,
        token: localToken,
        started_at: new Date().toISOString(),
        version: deps.version,
      });
  } catch (err) {
    await stopServices(started, log);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    unobserve();
    throw err;
  }

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | null = null;

  const close = (opts: { force?: boolean } = {}): Promise<void> => {
    if (opts.force) server.closeAllConnections();
    if (closing) return closing;
    closing = (async () => {
      deps.state.draining = true;
      let stopped = false;
      // Stop listening, but do not drop idle keep-alive connections yet: http.Server.close() would, and a request
      // already on its way on one of them would be reset (ECONNRESET) instead of answered. Every request arriving on
      // an open connection from now on gets 503 SHUTTING_DOWN with `Connection: close`, so its client lets go.
      const closedAll = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve())).then(
        () => (stopped = true),
      );
      // Until every handler has finished (even one whose client went away) and the connections have been quiet for
      // DRAIN_QUIET_MS (then the idle ones are closed), or the timeout.
      const timeoutMs = options.drainTimeoutMs ?? 10_000;
      const deadline = Date.now() + timeoutMs;
      const quietMs = Math.min(DRAIN_QUIET_MS, timeoutMs / 2);
      let quietSince: number | null = null;
      while ((!stopped || deps.state.inFlight > 0) && Date.now() < deadline) {
        if (deps.state.inFlight > 0) quietSince = null;
        else {
          quietSince ??= Date.now();
          if (Date.now() - quietSince >= quietMs) server.closeIdleConnections();
        }
        await Promise.race([closedAll, new Promise((r) => setTimeout(r, 10))]);
      }
      if (!stopped || deps.state.inFlight > 0) {
        if (deps.state.inFlight > 0)
          log(`${deps.state.inFlight} request(s) still running after ${timeoutMs} ms; closing their connections`);
        server.closeAllConnections();
      }
      await closedAll;
      await stopServices(started, log);
      unobserve();
      try {
        await runtime.close();
      } finally {
        if (options.stateFile) await removeStateFile(options.stateFile, localToken);
        resolveClosed();
      }
    })();
    return closing;
  };

  return { url, port, localToken, metrics, close, closed };
}

/** How long no request may be running before a draining server closes its idle keep-alive connections. */
const DRAIN_QUIET_MS = 300;

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (err.code === "EADDRINUSE") {
        reject(
          new FabraError("INVALID_ARGUMENT", `Port ${port} on ${host} is already in use`, {
            hint: "Stop what is using it or pass another --port (0 picks a free one).",
          }),
        );
      } else if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") {
        reject(
          new FabraError("INVALID_ARGUMENT", `Cannot listen on ${host}: ${err.message}`, {
            hint: "Use --host 127.0.0.1, 0.0.0.0 or an address of this machine.",
          }),
        );
      } else if (err.code === "EACCES") {
        reject(
          new FabraError("INVALID_ARGUMENT", `No permission to listen on port ${port}`, {
            hint: "Use a port above 1023.",
          }),
        );
      } else reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

async function stopServices(services: BackgroundService[], log: (line: string) => void): Promise<void> {
  for (const service of [...services].reverse()) {
    try {
      await service.stop();
    } catch (err) {
      log(`stopping ${service.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
