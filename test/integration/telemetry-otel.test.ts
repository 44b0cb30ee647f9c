// OpenTelemetry with the real SDK: each assembly is a span carrying fabra.context_id and fabra.record_hash, its
// retrievals child `retrieval` spans with their documents, the id attached to the caller's span, content only when
// configured; spans reach an in-memory exporter and, over OTLP/HTTP, a local receiver. Also the JSON log lines.
import { AsyncLocalStorage } from "node:async_hooks";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { context as otelContext, ROOT_CONTEXT, trace, type Context, type ContextManager } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, createFabra, retriever, type FabraRuntime } from "../../src/index.js";
import { tempFile } from "../helpers/temp.js";

/** The smallest AsyncLocalStorage context manager (the SDK's lives in a package not installed here). */
class AlsContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface OtlpSpan {
  name: string;
  traceId: string;
  attributes: OtlpAttribute[];
}

const memory = new InMemorySpanExporter();
const received: OtlpSpan[] = [];
let receiver: ReturnType<typeof createServer>;
let provider: BasicTracerProvider;
let fabra: FabraRuntime;
let plain: FabraRuntime;
const logs: string[] = [];

const docs = retriever({ index: "kb", topK: 2 });
const answer = context({ maxTokens: 200 }, async ({ q }: { q: string }) => {
  const hits = await docs(q);
  return [{ content: "Be brief.", role: "system" as const }, ...hits.map((h) => ({ content: h.content, source: h }))];
});

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const parsed = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
    for (const rs of parsed.resourceSpans) for (const ss of rs.scopeSpans) received.push(...ss.spans);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
  provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(memory), new SimpleSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  otelContext.setGlobalContextManager(new AlsContextManager());
  trace.setGlobalTracerProvider(provider);
  fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: tempFile("fabra-otel-", "fabra.duckdb") } },
    definitions: { docs, answer },
    telemetry: { captureContent: false, jsonLogs: true },
    warn: () => {},
  });
  fabra.settings.telemetry = {
    ...fabra.settings.telemetry,
    captureContent: false,
    jsonLogs: true,
    log: (l) => logs.push(l),
  };
  await fabra.index.add("kb", [{ id: "reset", content: "Reset your password on the sign-in page." }]);
});
afterAll(async () => {
  await fabra?.close();
  await plain?.close();
  await provider?.shutdown();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const attr = (span: OtlpSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue ?? v?.boolValue;
};

describe("OpenTelemetry", () => {
  it("an assembly is a span with the id and hash, retrievals are child spans, the caller's span gets the id", async () => {
    memory.reset();
    const caller = trace.getTracer("app").startSpan("handle request");
    const result = await otelContext.with(trace.setSpan(otelContext.active(), caller), () =>
      answer({ q: "reset password" }),
    );
    caller.end();
    const spans = memory.getFinishedSpans();
    const assembly = spans.find((s) => s.name === "assemble_context answer");
    const retrieval = spans.find((s) => s.name === "retrieval docs");
    const callerSpan = spans.find((s) => s.name === "handle request");
    expect(assembly?.attributes).toMatchObject({
      "gen_ai.operation.name": "assemble_context",
      "fabra.context_id": result.id,
      "fabra.record_hash": result.meta.recordHash,
      "fabra.tokens.used": result.tokenCount,
      "fabra.tokens.max": 200,
      "fabra.items.dropped": 0,
      "fabra.freshness.status": "unknown",
    });
    expect(assembly?.attributes["fabra.content"]).toBeUndefined();
    expect(assembly?.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(retrieval?.parentSpanContext?.spanId).toBe(assembly?.spanContext().spanId);
    expect(retrieval?.attributes["gen_ai.operation.name"]).toBe("retrieval");
    expect(retrieval?.attributes["gen_ai.data_source.id"]).toBe("kb");
    const documents = JSON.parse(String(retrieval?.attributes["gen_ai.retrieval.documents"])) as { id: string }[];
    expect(documents.map((d) => d.id)).toEqual(result.record.retrieved_items.map((r) => r.chunk_id));
    expect(JSON.stringify(documents)).not.toContain("sign-in page");
    expect(callerSpan?.attributes["fabra.context_id"]).toBe(result.id);

    // The same spans over OTLP/HTTP to the local receiver.
    await provider.forceFlush();
    const sent = received.find(
      (s) => s.name === "assemble_context answer" && attr(s, "fabra.context_id") === result.id,
    );
    expect(sent).toBeDefined();
    expect(attr(sent as OtlpSpan, "fabra.record_hash")).toBe(result.meta.recordHash);
    expect(received.some((s) => s.name === "retrieval docs" && s.traceId === sent?.traceId)).toBe(true);

    // One JSON log line with the id, no content.
    const line = JSON.parse(logs.at(-1) ?? "{}") as Record<string, unknown>;
    expect(line).toMatchObject({ event: "fabra.context", context_id: result.id, record_hash: result.meta.recordHash });
    expect(logs.at(-1)).not.toContain("Be brief");
  });

  it("captures content only when telemetry.captureContent is on", async () => {
    plain = await createFabra({
      stores: { offline: { type: "duckdb", path: tempFile("fabra-otel-", "fabra.duckdb") } },
      definitions: { capture: context({ name: "capture" }, () => [{ content: "secret prompt" }]) },
      telemetry: { captureContent: true },
      warn: () => {},
    });
    memory.reset();
    await plain.runContext("capture", {});
    const span = memory.getFinishedSpans().find((s) => s.name === "assemble_context capture");
    expect(span?.attributes["fabra.content"]).toBe("secret prompt");
  });

  it("a failed assembly is an error span", async () => {
    memory.reset();
    await expect(fabra.runContext("answer", { q: 5 as unknown as string })).rejects.toThrow();
    const span = memory.getFinishedSpans().find((s) => s.name === "assemble_context answer");
    expect(span?.status.code).toBe(2);
  });
});
