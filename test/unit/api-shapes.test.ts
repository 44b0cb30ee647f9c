// The wire shapes and their inverses: every value the CLI reads back from a server (plain or lossless JSON) is the
// value the server sent, and an answer that does not fit its shape is one clear error naming the field.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  assemblyFromJson,
  assemblyJson,
  assemblyShape,
  comparisonFromJson,
  comparisonJson,
  comparisonShape,
  featureValueFromJson,
  featureValueJson,
  featureValueShape,
  ledgerRowFromJson,
  ledgerRowJson,
  ledgerRowShape,
  materializationRunFromJson,
  materializationRunJson,
  materializationRunShape,
  parseShape,
  recordPageFromJson,
  recordPageJson,
  recordPageShape,
  runResultFromJson,
  runResultJson,
  runResultShape,
  verificationFromJson,
  verificationJson,
  verificationShape,
} from "../../src/api/shapes.js";
import type { ContextResult } from "../../src/define/types.js";
import type { FeatureRunResult } from "../../src/engine/features/materialize.js";
import { diffRecords } from "../../src/record/diff.js";
import { readRecordText, verifyRecord } from "../../src/record/index.js";
import { parseJson } from "../../src/record/json.js";
import { toJsonText } from "../../src/record/json.js";
import type { LedgerRow, MaterializationRun } from "../../src/stores/types.js";

const record = readRecordText(
  readFileSync(join(import.meta.dirname, "..", "fixtures", "crs-001", "plain.json"), "utf8"),
);

/** Both ways a client reads an answer: plain JSON.parse and the lossless reader (bigints, JsonFloat). */
const overTheWire = (value: unknown) => [
  JSON.parse(toJsonText(value)) as unknown,
  parseJson(toJsonText(value), "the answer"),
];

const result: ContextResult = {
  id: record.context_id,
  content: "System prompt.\nUser u1 is gold.",
  messages: [{ role: "system", content: "System prompt.\nUser u1 is gold." }],
  tokenCount: 9,
  dropped: [{ source_id: "kb:limits", priority: 3, token_count: 12, reason: "budget_exceeded" }],
  meta: {
    budgetExceeded: true,
    freshnessStatus: "degraded",
    freshnessViolations: ["userTier"],
    featureFallbacks: [{ feature: "userTier", entityId: "u1", served: "default", reason: "tier service down" }],
    latencyMs: 12.0,
    estimatedCostUsd: 0.000027,
    recordHash: record.integrity.record_hash,
    persisted: true,
    interactionRef: "sess_1:3",
  },
  record,
};

const row: LedgerRow = {
  contextId: record.context_id,
  createdAt: record.created_at,
  contextFunction: "chat",
  environment: "development",
  tokenCount: 9,
  recordHash: record.integrity.record_hash,
  previousContextId: null,
  canonicalText: '{"context_id":"x","text":"caf\\u00e9 \\ud83d\\ude00"}',
};

describe("wire shapes read back into the values they were made from", () => {
  it("an assembly (the record fetched separately)", () => {
    for (const wire of overTheWire(assemblyJson(result)))
      expect(assemblyFromJson(parseShape(assemblyShape, wire, "it"), record)).toEqual(result);
  });

  it("a page of records and a ledger row, canonical text byte for byte", () => {
    const second = { ...row, contextId: "ctx_other", previousContextId: row.contextId };
    for (const wire of overTheWire(recordPageJson([row, second], 2))) {
      const { canonicalText: _a, ...first } = row;
      const { canonicalText: _b, ...next } = second;
      expect(recordPageFromJson(parseShape(recordPageShape, wire, "it"))).toEqual({
        rows: [first, next],
        nextCursor: "ctx_other",
      });
    }
    for (const wire of overTheWire(ledgerRowJson(row)))
      expect(ledgerRowFromJson(parseShape(ledgerRowShape, wire, "it"))).toEqual(row);
  });

  it("a verification and a comparison", () => {
    const verification = verifyRecord(record);
    for (const wire of overTheWire(verificationJson(verification)))
      expect(verificationFromJson(parseShape(verificationShape, wire, "it"))).toEqual(verification);
    const comparison = {
      verified: true,
      verification: { a: verification, b: verification },
      diff: diffRecords(record, record),
    };
    for (const wire of overTheWire(comparisonJson(comparison)))
      expect(comparisonFromJson(parseShape(comparisonShape, wire, "it"))).toEqual(
        JSON.parse(JSON.stringify(comparison)),
      );
  });

  it("a feature value, a materialization run and a run's outcome", () => {
    const value = {
      name: "userTier",
      entityId: "u1",
      value: { tier: "gold", score: 1.5 },
      asOf: "2026-03-01T09:00:00Z",
      freshnessMs: 1200,
      source: "cache",
    };
    for (const wire of overTheWire(featureValueJson(value)))
      expect(featureValueFromJson(parseShape(featureValueShape, wire, "it"))).toEqual(value);
    const run: MaterializationRun = {
      runId: "run_1",
      feature: "userTier",
      trigger: "schedule",
      status: "partial",
      startedAt: "2026-03-01T09:00:00Z",
      finishedAt: null,
      entitiesWritten: 3,
      entitiesFailed: 1,
      error: "no data for u4",
      attempt: 2,
    };
    for (const wire of overTheWire(materializationRunJson(run)))
      expect(materializationRunFromJson(parseShape(materializationRunShape, wire, "it"))).toEqual(run);
    const outcome: FeatureRunResult = {
      feature: "userTier",
      runId: "run_1",
      resumed: true,
      status: "partial",
      total: null,
      alreadyWritten: 2,
      computed: 2,
      written: 1,
      failed: 1,
      errors: [{ entityId: "u4", error: "no data for u4" }],
      error: null,
      startedAt: "2026-03-01T09:00:00Z",
      durationMs: 41,
    };
    for (const wire of overTheWire(runResultJson(outcome)))
      expect(runResultFromJson(parseShape(runResultShape, wire, "it"))).toEqual(outcome);
  });
});

describe("an answer that does not fit its shape", () => {
  it("fails with STORE_UNAVAILABLE naming the field and what was expected", () => {
    const wire = JSON.parse(toJsonText(assemblyJson(result))) as { meta: Record<string, unknown> };
    delete wire.meta.persisted;
    expect(() => parseShape(assemblyShape, wire, "The answer of http://x to POST /v1/context/chat")).toThrow(
      expect.objectContaining({
        code: "STORE_UNAVAILABLE",
        message: expect.stringMatching(
          /^The answer of http:\/\/x to POST \/v1\/context\/chat is not what this fabra expects at meta\.persisted: /,
        ),
      }),
    );
    expect(() => parseShape(ledgerRowShape, { ...ledgerRowJson(row), token_count: 1.5 }, "it")).toThrow(
      /at token_count/,
    );
    expect(() => parseShape(ledgerRowShape, "<html>", "it")).toThrow(/^it is not what this fabra expects: /);
  });
});
