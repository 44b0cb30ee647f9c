// Prometheus metrics for `fabra serve`: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4). Label sets are bounded: routes are patterns, names come from definitions.

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const formatNumber = (n: number) => (Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n));

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected key(labels: Labels): string[] {
    return this.labelNames.map((n) => labels[n] ?? "");
  }

  abstract render(): string[];

  protected header(type: string): string[] {
    return [`# HELP ${this.name} ${this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${this.name} ${type}`];
  }
}

export class Counter extends Metric {
  private readonly values = new Map<string, { labels: string[]; value: number }>();

  inc(labels: Labels = {}, by = 1): void {
    this.child(this.key(labels)).value += by;
  }

  /** The series for these label values (in labelNames order), to increment directly on a hot path. */
  child(values: string[]): { value: number } {
    const k = values.join("\u0000");
    let entry = this.values.get(k);
    if (!entry) {
      entry = { labels: values, value: 0 };
      this.values.set(k, entry);
    }
    return entry;
  }

  get(labels: Labels = {}): number {
    return this.values.get(this.key(labels).join("\u0000"))?.value ?? 0;
  }

  render(): string[] {
    const lines = this.header("counter");
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(this.labelNames, labels)} ${formatNumber(value)}`);
    return lines;
  }
}

export class Gauge extends Metric {
  private readonly values = new Map<string, { labels: string[]; value: number }>();

  set(value: number, labels: Labels = {}): void {
    const values = this.key(labels);
    this.values.set(values.join("\u0000"), { labels: values, value });
  }

  add(by: number, labels: Labels = {}): void {
    const values = this.key(labels);
    const k = values.join("\u0000");
    const entry = this.values.get(k);
    if (entry) entry.value += by;
    else this.values.set(k, { labels: values, value: by });
  }

  render(): string[] {
    const lines = this.header("gauge");
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(this.labelNames, labels)} ${formatNumber(value)}`);
    return lines;
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { labels: string[]; counts: number[]; sum: number; count: number; observe(value: number): void }>();

  constructor(name: string, help: string, labelNames: readonly string[], readonly buckets: readonly number[]) {
    super(name, help, labelNames);
  }

  observe(value: number, labels: Labels = {}): void {
    this.child(this.key(labels)).observe(value);
  }

  /** The series for these label values (in labelNames order), to observe into directly on a hot path. */
  child(values: string[]): { observe(value: number): void } {
    const k = values.join("\u0000");
    let s = this.series.get(k);
    if (!s) {
      const series = { labels: values, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      const buckets = this.buckets;
      s = Object.assign(series, {
        observe(value: number) {
          // Buckets are stored per bucket and made cumulative when rendered.
          let i = 0;
          while (i < buckets.length && value > (buckets[i] as number)) i++;
          if (i < buckets.length) series.counts[i] = (series.counts[i] as number) + 1;
          series.sum += value;
          series.count++;
        },
      });
      this.series.set(k, s);
    }
    return s;
  }

  count(labels: Labels = {}): number {
    return this.series.get(this.key(labels).join("\u0000"))?.count ?? 0;
  }

  render(): string[] {
    const lines = this.header("histogram");
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i] as number;
        lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, `le="${formatNumber(b)}"`)} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, 'le="+Inf"')} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, s.labels)} ${formatNumber(s.sum)}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, s.labels)} ${s.count}`);
    }
    return lines;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  render(): string {
    return this.metrics.flatMap((m) => m.render()).join("\n") + "\n";
  }

  private add<T extends Metric>(metric: T): T {
    this.metrics.push(metric);
    return metric;
  }
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every metric the server exports. */
export function createServerMetrics() {
  const registry = new Registry();
  const metrics = {
    registry,
    requests: registry.counter("fabra_http_requests_total", "HTTP requests by method, route pattern and status.", ["method", "route", "status"]),
    requestSeconds: registry.histogram("fabra_http_request_duration_seconds", "HTTP request latency by method and route pattern.", ["method", "route"], LATENCY_BUCKETS),
    inFlight: registry.gauge("fabra_http_requests_in_flight", "HTTP requests being served now."),
    assemblies: registry.counter("fabra_context_assemblies_total", "Context assemblies by function and outcome (ok or the error code).", ["function", "outcome"]),
    assemblySeconds: registry.histogram("fabra_context_assembly_duration_seconds", "Context assembly latency by function.", ["function"], LATENCY_BUCKETS),
    droppedItems: registry.counter("fabra_context_dropped_items_total", "Items dropped to fit the token budget, by function and reason.", ["function", "reason"]),
    budgetExceeded: registry.counter("fabra_context_budget_exceeded_total", "Assemblies whose required items alone exceeded the budget.", ["function"]),
    staleFeatures: registry.counter("fabra_stale_features_total", "Feature reads over their context's freshness SLA, by feature.", ["feature"]),
    staleChunks: registry.counter("fabra_stale_chunks_total", "Included chunks over their context's freshness SLA, by function.", ["function"]),
    featureReads: registry.counter("fabra_feature_reads_total", "Feature reads by feature and source (cache, compute, fallback).", ["feature", "source"]),
    ledgerWrites: registry.counter("fabra_ledger_writes_total", "Ledger appends by outcome (inserted, exists).", ["outcome"]),
    ledgerFailures: registry.counter("fabra_ledger_write_failures_total", "Ledger appends that failed, by error code.", ["code"]),
    replays: registry.counter("fabra_context_replays_total", "Replays by mode (recorded, live) and outcome.", ["mode", "outcome"]),
    schedulerRuns: registry.counter("fabra_scheduler_runs_total", "Scheduled refresh runs this server finished, by feature and status (succeeded, partial, interrupted).", ["feature", "status"]),
    schedulerErrors: registry.counter("fabra_scheduler_errors_total", "Scheduled refreshes that could not run (stores unreachable, a definition error), by feature.", ["feature"]),
    startTime: registry.gauge("fabra_server_start_time_seconds", "When the server started (unix time)."),
  };
  metrics.startTime.set(Math.floor(Date.now() / 1000));
  return metrics;
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
