// `fabra serve [--port 8000] [--host 127.0.0.1] [--no-scheduler] [--no-ingest] [--claim-idle 30s] [--max-attempts 5]
// [--drain-timeout 10s]`: the HTTP API, until SIGTERM / SIGINT.
import type { Command } from "commander";
import { FabraError } from "../../errors.js";
import { runServer } from "../../server/run.js";
import { ingestRetryOptions, parseDurationFlag, projectOptions, withIngestRetryFlags } from "../options.js";

interface ServeFlags {
  port?: string;
  host?: string;
  scheduler: boolean;
  ingest: boolean;
  claimIdle?: string;
  maxAttempts?: string;
  drainTimeout: string;
}

export function registerServe(program: Command): void {
  const command = program
    .command("serve")
    .description(
      "Serve features, context assembly and the record ledger over HTTP (GET /openapi.json lists the routes)",
    )
    .option(
      "-p, --port <port>",
      "port to listen on (default: server.port in the config, else 8000; 0 picks a free port)",
    )
    .option("--host <host>", "address to listen on (default: server.host in the config, else 127.0.0.1)")
    .option("--no-scheduler", "do not run the feature refresh scheduler")
    .option("--no-ingest", "do not consume ingested events here (with Redis, `fabra worker` does)");
  withIngestRetryFlags(command)
    .option(
      "--drain-timeout <duration>",
      "on shutdown, how long to wait for requests in flight (e.g. 10s, 500ms; a plain number is ms)",
      "10s",
    )
    .action(async (flags: ServeFlags, cmd: Command) => {
      await runServer({
        ...projectOptions(cmd),
        port: flags.port === undefined ? undefined : parsePort(flags.port),
        host: flags.host,
        scheduler: flags.scheduler,
        ingest: flags.ingest,
        ingestRetry: ingestRetryOptions(flags),
        drainTimeoutMs: parseDurationFlag(flags.drainTimeout, "--drain-timeout"),
      });
    });
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) {
    throw new FabraError("INVALID_ARGUMENT", `--port ${JSON.stringify(value)} is not a port number`, {
      hint: "Use 0..65535, e.g. --port 8000 (0 picks a free port).",
    });
  }
  return n;
}
