// The server's metrics: prom-client with a registry per server (two servers in one process count apart), fabra's
// metric names and labels, plus the default process, GC and event-loop metrics.
import { describe, expect, it } from "vitest";
import { counterValue, createServerMetrics, renderMetrics } from "../../src/server/metrics.js";

describe("server metrics", () => {
  it("keeps a registry per server: the same names register twice and count apart", async () => {
    const a = createServerMetrics();
    const b = createServerMetrics();
    a.ledgerWrites.inc({ outcome: "inserted" });
    a.ledgerWrites.inc({ outcome: "inserted" });
    b.ledgerWrites.inc({ outcome: "exists" });
    expect(await counterValue(a.ledgerWrites, { outcome: "inserted" })).toBe(2);
    expect(await counterValue(a.ledgerWrites, { outcome: "exists" })).toBe(0);
    expect(await counterValue(b.ledgerWrites, { outcome: "inserted" })).toBe(0);
    expect(await a.registry.metrics()).toMatch(/^fabra_ledger_writes_total\{outcome="inserted"\} 2$/m);
    expect(await b.registry.metrics()).not.toMatch(/outcome="inserted"/);
  });

  it("exports the default process, GC and event-loop metrics beside fabra's, in the text format", async () => {
    const m = createServerMetrics();
    m.requestSeconds.labels("GET", "/health").observe(0.003);
    m.assemblySeconds.observe({ function: 'odd"}name' }, 0.02);
    const text = await renderMetrics(m);
    expect(m.registry.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^# TYPE nodejs_gc_duration_seconds histogram$/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    // `le` last on bucket lines, as before prom-client, also when a label value holds a quote or a brace.
    expect(text).toMatch(
      /^fabra_http_request_duration_seconds_bucket\{method="GET",route="\/health",le="0\.005"\} 1$/m,
    );
    expect(text).toMatch(/^fabra_http_request_duration_seconds_bucket\{method="GET",route="\/health",le="\+Inf"\} 1$/m);
    expect(text).toContain('fabra_context_assembly_duration_seconds_bucket{function="odd\\"}name",le="0.025"} 1');
    expect(text).not.toMatch(/_bucket\{le="[^"]*",/);
    expect(text).toMatch(/^fabra_server_start_time_seconds \d+$/m);
  });

  it("counts through handles: every increment and observation shows in the next read, none twice", async () => {
    const m = createServerMetrics();
    const series = m.requestSeries("GET", "/v1/features/:name", 200);
    expect(m.requestSeries("GET", "/v1/features/:name", 200)).toBe(series);
    series.count.inc();
    series.count.inc();
    series.latency.observe(0.0005); // on a bound: counted in that bucket (le is inclusive)
    series.latency.observe(0.003);
    m.featureRead("tier", "cache");
    const labels = { method: "GET", route: "/v1/features/:name", status: "200" };
    expect(await counterValue(m.requests, labels)).toBe(2);
    series.count.inc();
    expect(await counterValue(m.requests, labels)).toBe(3);
    expect(await counterValue(m.featureReads, { feature: "tier", source: "cache" })).toBe(1);
    const text = await renderMetrics(m);
    const line = (le: string) =>
      `fabra_http_request_duration_seconds_bucket{method="GET",route="/v1/features/:name",le="${le}"}`;
    expect(text).toContain(`${line("0.0005")} 1\n`);
    expect(text).toContain(`${line("0.0025")} 1\n`);
    expect(text).toContain(`${line("0.005")} 2\n`);
    expect(text).toContain(`${line("+Inf")} 2\n`);
    const sum = /^fabra_http_request_duration_seconds_sum\{method="GET",route="\/v1\/features\/:name"\} (\S+)$/m.exec(
      text,
    );
    expect(Number(sum?.[1])).toBeCloseTo(0.0035, 12);
    expect(text).toContain('fabra_http_request_duration_seconds_count{method="GET",route="/v1/features/:name"} 2\n');
    expect(text).toMatch(/^fabra_http_requests_total\{method="GET",route="\/v1\/features\/:name",status="200"\} 3$/m);
    expect(text).toMatch(/^fabra_feature_reads_total\{feature="tier",source="cache"\} 1$/m);
    expect(text).toMatch(/^# TYPE fabra_http_request_duration_seconds histogram$/m);
  });
});
