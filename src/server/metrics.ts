// Prometheus metrics for `fabra serve` through prom-client: fabra's counters, gauges and histograms plus the default
// process, GC and event-loop metrics, in a registry per server (never prom-client's global one), so several servers
// and tests in one process do not clash. Label sets are bounded: routes are patterns, names come from definitions.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from "prom-client";
import type { StoreObserver } from "../stores/types.js";
import { byThree, byTwo, type CounterHandle, type HistogramHandle, LatencyHistogram, pendingCounts } from "./series.js";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every metric the server exports, registered in a registry of its own. */
export function createServerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: (this: Counter<L>) => void,
  ) => new Counter<L>({ name, help, labelNames, registers, ...(collect ? { collect } : {}) });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Histogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers });
  // Updated on every request or store call: through handles (series.ts), not prom-client's label-hashing calls.
  const latencies = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new LatencyHistogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers });
  const requestCounts = pendingCounts<"method" | "route" | "status">();
  const featureReadCounts = pendingCounts<"feature" | "source">();
  const metrics = {
    registry,
    requests: counter(
      "fabra_http_requests_total",
      "HTTP requests by method, route pattern and status.",
      ["method", "route", "status"],
      requestCounts.collect,
    ),
    requestSeconds: latencies(
      "fabra_http_request_duration_seconds",
      "HTTP request latency by method and route pattern.",
      ["method", "route"],
    ),
    inFlight: new Gauge({ name: "fabra_http_requests_in_flight", help: "HTTP requests being served now.", registers }),
    assemblies: counter(
      "fabra_context_assemblies_total",
      "Context assemblies by function and outcome (ok or the error code).",
      ["function", "outcome"],
    ),
    assemblySeconds: histogram("fabra_context_assembly_duration_seconds", "Context assembly latency by function.", [
      "function",
    ]),
    droppedItems: counter(
      "fabra_context_dropped_items_total",
      "Items dropped to fit the token budget, by function and reason.",
      ["function", "reason"],
    ),
    budgetExceeded: counter(
      "fabra_context_budget_exceeded_total",
      "Assemblies whose required items alone exceeded the budget.",
      ["function"],
    ),
    staleFeatures: counter(
      "fabra_stale_features_total",
      "Feature reads over their context's freshness SLA, by feature.",
      ["feature"],
    ),
    staleChunks: counter(
      "fabra_stale_chunks_total",
      "Included chunks over their context's freshness SLA, by function.",
      ["function"],
    ),
    featureReads: counter(
      "fabra_feature_reads_total",
      "Feature reads by feature and source (cache, compute, fallback).",
      ["feature", "source"],
      featureReadCounts.collect,
    ),
    ledgerWrites: counter("fabra_ledger_writes_total", "Ledger appends by outcome (inserted, exists).", ["outcome"]),
    ledgerFailures: counter("fabra_ledger_write_failures_total", "Ledger appends that failed, by error code.", [
      "code",
    ]),
    replays: counter("fabra_context_replays_total", "Replays by mode (recorded, live) and outcome.", [
      "mode",
      "outcome",
    ]),
    schedulerRuns: counter(
      "fabra_scheduler_runs_total",
      "Scheduled refresh runs this server finished, by feature and status (succeeded, partial, interrupted).",
      ["feature", "status"],
    ),
    schedulerErrors: counter(
      "fabra_scheduler_errors_total",
      "Scheduled refreshes that could not run (stores unreachable, a definition error), by feature.",
      ["feature"],
    ),
    storeSeconds: latencies(
      "fabra_store_operation_duration_seconds",
      "Store call latency by store (records, offline, online, vector, locks) and operation.",
      ["store", "operation"],
    ),
    storeErrors: counter("fabra_store_errors_total", "Store calls that failed, by store, operation and error code.", [
      "store",
      "operation",
      "code",
    ]),
    degradedReads: new Gauge({
      name: "fabra_degraded_feature_reads",
      help: "Feature reads that took a degraded path since the server started, by kind (online_read_failure, fallback, rejected_cache_entry).",
      labelNames: ["kind"],
      registers,
    }),
    ingestReceived: counter(
      "fabra_ingest_events_received_total",
      "Events accepted by POST /v1/ingest/{event}, by event type ((undeclared) for types no feature declares).",
      ["event"],
    ),
    ingestProcessed: counter(
      "fabra_ingest_events_processed_total",
      "Ingested events whose recompute is durable and acknowledged, by event type.",
      ["event"],
    ),
    ingestFailed: counter(
      "fabra_ingest_events_failed_total",
      "Recomputes of ingested events that failed (the event is retried after the claim idle time), by event type.",
      ["event"],
    ),
    ingestDeadLettered: counter(
      "fabra_ingest_events_dead_lettered_total",
      "Ingested events moved to the dead-letter list (malformed, or failed too often), by event type.",
      ["event"],
    ),
    ingestLagSeconds: new Histogram({
      name: "fabra_ingest_lag_seconds",
      help: "From an event's enqueueing to its recompute being durable, by event type.",
      labelNames: ["event"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    ingestBacklog: new Gauge({
      name: "fabra_ingest_backlog_events",
      help: "Ingested events not yet done, by event type and state (waiting: not handed out; pending: not acknowledged).",
      labelNames: ["event", "state"],
      registers,
    }),
    startTime: new Gauge({
      name: "fabra_server_start_time_seconds",
      help: "When the server started (unix time).",
      registers,
    }),
  };
  metrics.startTime.set(Math.floor(Date.now() / 1000));
  return {
    ...metrics,
    /** A request's series (its count by status, its latency), found by method → route pattern → status. */
    requestSeries: byThree(
      (method: string, route: string, status: number): RequestSeries => ({
        count: requestCounts.handle({ method, route, status: String(status) }),
        latency: metrics.requestSeconds.labels(method, route),
      }),
    ),
    /** Counts a feature read by feature and source. */
    featureRead: (() => {
      const series = byTwo((feature: string, source: string) => featureReadCounts.handle({ feature, source }));
      return (feature: string, source: string) => series(feature, source).inc();
    })(),
  };
}

export interface RequestSeries {
  count: CounterHandle;
  latency: HistogramHandle;
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;

/**
 * What the server counts of its stores' calls (reported by src/stores/instrument.ts): every call's latency and
 * failures, and the ledger's appends by outcome.
 */
export function storeMetricsObserver(metrics: ServerMetrics): StoreObserver {
  // Series per store → operation: two map lookups per call, no key string built.
  const latency = byTwo((store: string, operation: string) => metrics.storeSeconds.labels(store, operation));
  return (op) => {
    latency(op.store, op.operation).observe(op.seconds);
    if (op.error) metrics.storeErrors.inc({ store: op.store, operation: op.operation, code: op.error.code });
    if (op.store === "records" && op.operation === "append") {
      if (op.error) metrics.ledgerFailures.inc({ code: op.error.code });
      else metrics.ledgerWrites.inc({ outcome: String(op.result) });
    }
  };
}

/** The current value of one counter series (0 when it was never incremented). */
export async function counterValue<L extends string>(
  counter: Counter<L>,
  labels: LabelValues<L> = {},
): Promise<number> {
  const wanted = Object.entries(labels);
  const series = (await counter.get()).values.find(
    (v) =>
      wanted.every(([k, value]) => String(v.labels[k as L]) === String(value)) &&
      Object.keys(v.labels).length === wanted.length,
  );
  return series?.value ?? 0;
}

/** A bucket line as prom-client writes it: `le` first, then the series' labels (quoted values may hold `\"`). */
const LE_FIRST = /^(\w+_bucket)\{(le="[^"]*"),((?:[^"}]|"(?:[^"\\]|\\.)*")*)\}/gm;

/**
 * The registry in the text exposition format, with `le` as the last label of a bucket line, as the Prometheus Go
 * client (and fabra before prom-client) writes it: the same series either way, but scrapers' fixtures and text
 * matches on these lines keep working.
 */
export async function renderMetrics(metrics: ServerMetrics): Promise<string> {
  return (await metrics.registry.metrics()).replace(LE_FIRST, "$1{$3,$2}");
}
