// Figures without float noise: a record's assembly_latency_ms to the microsecond (still a float field), and
// estimated costs to twelve decimals.
import { afterEach, describe, expect, it } from "vitest";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { estimateCostUsd } from "../../src/engine/context/pricing.js";
import { JsonFloat } from "../../src/record/json.js";

const open: FabraRuntime[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

const decimals = (n: number) => (String(n).split(".")[1] ?? "").length;

describe("recorded figures", () => {
  it("assembly_latency_ms has at most 3 decimals and stays a float", async () => {
    const slow = context({ maxTokens: 20 }, async () => {
      await new Promise((r) => setTimeout(r, 3));
      return [{ content: "x", priority: 0 }];
    });
    const fabra = await createFabra({
      definitions: { slow },
      stores: { offline: { type: "duckdb", path: ":memory:" } },
    });
    open.push(fabra);
    for (let i = 0; i < 5; i++) {
      const result = await fabra.assemble("slow", {});
      const latency = result.record.lineage.assembly_latency_ms;
      expect(latency).toBeInstanceOf(JsonFloat);
      expect(decimals(Number(latency))).toBeLessThanOrEqual(3);
      expect(decimals(result.meta.latencyMs)).toBeLessThanOrEqual(3);
    }
  });

  it("estimated costs carry no float noise", () => {
    expect(estimateCostUsd("gpt-4o-mini", 292)).toBe(0.0000438);
    for (let tokens = 1; tokens < 2000; tokens += 7)
      expect(decimals(estimateCostUsd("gpt-4o-mini", tokens))).toBeLessThanOrEqual(12);
  });
});
