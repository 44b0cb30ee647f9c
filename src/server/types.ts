// What the server's routes share: the runtime they serve, metrics, auth, limits and the drain state.
import type { HttpBindings } from "@hono/node-server";
import type { FabraRuntime } from "../engine/runtime.js";
import type { Auth, Credential } from "./auth.js";
import type { ServerMetrics } from "./metrics.js";

export interface ServerDeps {
  runtime: FabraRuntime;
  metrics: ServerMetrics;
  auth: Auth;
  /** Largest request body in bytes. */
  bodyLimit: number;
  /** `draining` is set when shutdown begins (new requests get 503 SHUTTING_DOWN, /ready fails); `inFlight` counts requests being handled. */
  state: { draining: boolean; inFlight: number };
  /** Where server faults are logged (one line per fault, with the request id). */
  log: (line: string) => void;
  version: string;
  /**
   * Whether POST /v1/ledger/rows exists: only while this server holds a local (embedded DuckDB) ledger file, for
   * `fabra context ...` in another terminal, which sends the per-run token from the state file.
   */
  ledgerWrites: boolean;
}

export type AppEnv = {
  Bindings: HttpBindings;
  Variables: { requestId: string; bodyLimit: number; closeConnection: boolean; credential: Credential | undefined };
};
