// Telemetry for assemblies: an OpenTelemetry span per assembly (GenAI semantic conventions; retrievals as child
// `retrieval` spans with their documents) carrying fabra.context_id and fabra.record_hash, the id attached to the
// caller's active span, and optional JSON log lines. @opentelemetry/api is an optional peer, imported lazily once;
// without it, or without a registered tracer provider (spans not recording), an assembly pays only a resolved await.
import type { ContextResult } from "../../define/types.js";
import { isFabraError } from "../../errors.js";
import type { Trace, TracedRetrieval } from "./tracking.js";

export interface TelemetrySettings {
  /** Put prompt and document text on spans (default off: ids, hashes and counts only). */
  captureContent: boolean;
  /** One JSON line per assembly to `log` (default stderr). */
  jsonLogs: boolean;
  log?: (line: string) => void;
}

type OtelApi = typeof import("@opentelemetry/api");
type Span = import("@opentelemetry/api").Span;

let api: Promise<OtelApi | null> | null = null;

/** The OpenTelemetry API when the package is installed, else null (asked for once per process). */
export function otelApi(): Promise<OtelApi | null> {
  api ??= import("@opentelemetry/api").then(
    (m) => m,
    () => null,
  );
  return api;
}

export const TRACER_NAME = "fabra";

interface AssemblyInfo {
  name: string;
  model: string | null;
  trace: Trace;
  warn: (message: string) => void;
}

/** Runs the assembly, then reports it (spans, log line); a failed assembly is reported as an error span. */
export async function observeAssembly(
  settings: TelemetrySettings,
  info: AssemblyInfo,
  assemble: () => Promise<ContextResult>,
): Promise<ContextResult> {
  const otel = await otelApi();
  const startedAt = new Date();
  // The caller's context, taken before any await inside the assembly.
  const parent = otel?.context.active();
  let result: ContextResult;
  try {
    result = await assemble();
  } catch (err) {
    if (otel && parent) failedSpan(otel, parent, info, startedAt, err);
    throw err;
  }
  if (otel && parent) {
    try {
      assemblySpans(otel, parent, settings, info, startedAt, result);
    } catch (err) {
      info.warn(`telemetry for context ${result.id} failed: ${(err as Error).message}`);
    }
  }
  if (settings.jsonLogs) (settings.log ?? writeStderr)(logLine(info.name, result));
  return result;
}

function writeStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The JSON log line of one assembly: ids, hashes and counts, never content. */
export function logLine(name: string, result: ContextResult): string {
  const a = result.record.assembly;
  return JSON.stringify({
    ts: result.record.created_at,
    level: "info",
    event: "fabra.context",
    context_function: name,
    context_id: result.id,
    record_hash: result.meta.recordHash,
    tokens_used: a.tokens_used,
    max_tokens: a.max_tokens,
    dropped: a.dropped_items.length,
    freshness_status: a.freshness_status,
    latency_ms: Math.round(result.meta.latencyMs * 1000) / 1000,
    persisted: result.meta.persisted,
  });
}

function spanName(name: string): string {
  return `assemble_context ${name}`;
}

function assemblySpans(
  otel: OtelApi,
  parent: import("@opentelemetry/api").Context,
  settings: TelemetrySettings,
  info: AssemblyInfo,
  startedAt: Date,
  result: ContextResult,
): void {
  // The id goes on the caller's span whether or not this process records its own spans.
  const active = otel.trace.getSpan(parent);
  active?.setAttribute("fabra.context_id", result.id);
  active?.setAttribute("fabra.record_hash", result.meta.recordHash);
  const tracer = otel.trace.getTracer(TRACER_NAME);
  const span = tracer.startSpan(spanName(info.name), { startTime: startedAt, kind: otel.SpanKind.INTERNAL }, parent);
  if (!span.isRecording()) {
    span.end();
    return;
  }
  const a = result.record.assembly;
  span.setAttributes({
    "gen_ai.operation.name": "assemble_context",
    "gen_ai.system": "fabra",
    ...(info.model ? { "gen_ai.request.model": info.model } : {}),
    "fabra.context_function": info.name,
    "fabra.context_id": result.id,
    "fabra.record_hash": result.meta.recordHash,
    "fabra.tokens.used": Number(a.tokens_used),
    ...(a.max_tokens === null ? {} : { "fabra.tokens.max": Number(a.max_tokens) }),
    "fabra.items.provided": Number(a.items_provided),
    "fabra.items.included": Number(a.items_included),
    "fabra.items.dropped": a.dropped_items.length,
    "fabra.freshness.status": a.freshness_status,
    "fabra.freshness.violations": a.freshness_violations.length,
    "fabra.persisted": result.meta.persisted,
  });
  if (settings.captureContent) span.setAttribute("fabra.content", result.content);
  const inside = otel.trace.setSpan(parent, span);
  for (const retrieval of info.trace.retrievals) retrievalSpan(otel, tracer, inside, retrieval, settings, startedAt);
  span.setStatus({ code: otel.SpanStatusCode.OK });
  span.end();
}

function retrievalSpan(
  otel: OtelApi,
  tracer: import("@opentelemetry/api").Tracer,
  parent: import("@opentelemetry/api").Context,
  r: TracedRetrieval,
  settings: TelemetrySettings,
  fallbackStart: Date,
): void {
  const span: Span = tracer.startSpan(
    `retrieval ${r.retriever}`,
    { startTime: r.startedAt === undefined ? fallbackStart : new Date(r.startedAt), kind: otel.SpanKind.CLIENT },
    parent,
  );
  const documents = r.chunks.map((c) => ({
    id: c.chunkId,
    document_id: c.documentId,
    score: c.similarity,
    ...(settings.captureContent ? { content: c.content } : {}),
  }));
  span.setAttributes({
    "gen_ai.operation.name": "retrieval",
    "fabra.retriever": r.retriever,
    ...(r.index === null ? {} : { "gen_ai.data_source.id": r.index }),
    "gen_ai.retrieval.documents.count": r.chunks.length,
    "gen_ai.retrieval.documents": JSON.stringify(documents),
  });
  span.end(r.endedAt === undefined ? undefined : new Date(r.endedAt));
}

function failedSpan(
  otel: OtelApi,
  parent: import("@opentelemetry/api").Context,
  info: AssemblyInfo,
  startedAt: Date,
  err: unknown,
): void {
  const span = otel.trace.getTracer(TRACER_NAME).startSpan(spanName(info.name), { startTime: startedAt }, parent);
  if (span.isRecording()) {
    span.setAttributes({
      "gen_ai.operation.name": "assemble_context",
      "fabra.context_function": info.name,
      "error.type": isFabraError(err) ? err.code : "INTERNAL",
    });
    span.setStatus({ code: otel.SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}
