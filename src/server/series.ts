// Metric series for the per-request path, where prom-client's own calls cost more than a cached feature read: its
// `inc()` and `observe()` hash a label object on every call, even through a `labels(...)` handle. Here a series is a
// handle found once (by label values, through nested maps: no key string or label object per call) whose updates
// are plain additions. Counters keep prom-client's Counter and add what their handles counted whenever it is read
// (its `collect` hook); latency histograms are a registry metric of their own, exported as prom-client's would be.
import type { Counter, LabelValues, Metric, Registry } from "prom-client";

export interface CounterHandle {
  inc(): void;
}

export interface HistogramHandle {
  observe(seconds: number): void;
}

/** A lookup of handles by one key, made on first use and kept (the keys come from bounded sets). */
export function byOne<K, H>(make: (key: K) => H): (key: K) => H {
  const handles = new Map<K, H>();
  return (key) => {
    let handle = handles.get(key);
    if (handle === undefined) {
      handle = make(key);
      handles.set(key, handle);
    }
    return handle;
  };
}

/** The same by two keys: two map lookups. */
export function byTwo<A, B, H>(make: (a: A, b: B) => H): (a: A, b: B) => H {
  const tables = byOne((a: A) => byOne((b: B) => make(a, b)));
  return (a, b) => tables(a)(b);
}

/** The same by three keys: three map lookups. */
export function byThree<A, B, C, H>(make: (a: A, b: B, c: C) => H): (a: A, b: B, c: C) => H {
  const tables = byTwo((a: A, b: B) => byOne((c: C) => make(a, b, c)));
  return (a, b, c) => tables(a, b)(c);
}

/**
 * Counter handles counted in plain numbers: pass `collect` as the Counter's `collect` option, and what the handles
 * counted is added to it each time it is read (a scrape, `counter.get()`), so readers see every increment.
 */
export function pendingCounts<L extends string>(): {
  collect: (this: Counter<L>) => void;
  handle: (labels: LabelValues<L>) => CounterHandle;
} {
  const handles: { labels: LabelValues<L>; count: number; inc(): void }[] = [];
  return {
    collect(this: Counter<L>) {
      for (const h of handles) {
        if (h.count === 0) continue;
        const count = h.count;
        h.count = 0;
        this.inc(h.labels, count);
      }
    },
    handle(labels) {
      const h = {
        labels,
        count: 0,
        inc() {
          h.count++;
        },
      };
      handles.push(h);
      return h;
    },
  };
}

/** One exported line's data, as prom-client's metrics hand it to a registry. */
interface ExportedValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative), the last one past every bound (+Inf). */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram registered in `registers` like prom-client's (the same text and JSON output: cumulative `_bucket`
 * lines with `le` last, `_sum`, `_count`), whose `labels(...)` handles observe with a bucket scan and three additions.
 */
export class LatencyHistogram<L extends string> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly L[];
  private readonly buckets: readonly number[];
  private readonly series = new Map<string, Series & HistogramHandle>();

  constructor(config: {
    name: string;
    help: string;
    labelNames: readonly L[];
    buckets: readonly number[];
    registers: Registry[];
  }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.buckets = [...config.buckets].sort((a, b) => a - b);
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these label values (in labelNames order), to keep and observe many times. */
  labels(...values: string[]): HistogramHandle {
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) {
      const buckets = this.buckets;
      const made: Series & HistogramHandle = {
        labels: Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] ?? ""])),
        counts: new Array<number>(buckets.length + 1).fill(0),
        sum: 0,
        count: 0,
        observe(seconds) {
          let i = 0;
          while (i < buckets.length && seconds > (buckets[i] as number)) i++;
          (made.counts[i] as number)++;
          made.sum += seconds;
          made.count++;
        },
      };
      s = made;
      this.series.set(key, s);
    }
    return s;
  }

  /** prom-client's form: one observation for a label object. */
  observe(labels: LabelValues<L>, seconds: number): void {
    this.labels(...this.labelNames.map((name) => String(labels[name] ?? ""))).observe(seconds);
  }

  /** What a registry exports (prom-client's metric interface). */
  async get(): Promise<{ name: string; help: string; type: "histogram"; aggregator: "sum"; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += s.counts[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: "+Inf" }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Every series back to zero (prom-client's reset keeps no series; these stay, at zero). */
  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
