// `fabra serve` runs the feature refresh scheduler as a background service (and not with --no-scheduler).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createFabra, entity, feature, type FabraRuntime } from "../src/index.js";
import { startServer, type RunningServer } from "../src/server/serve.js";
import { backgroundServices } from "../src/server/services.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function serve(withScheduler: boolean): Promise<{ fabra: FabraRuntime; computed: string[] }> {
  const computed: string[] = [];
  const user = entity("user");
  const visits = feature({ entity: user, refresh: "150ms", materialize: true, entities: ["u1", "u2"] }, (id: string) => {
    computed.push(id);
    return id.length;
  });
  const onDemand = feature({ entity: user }, () => 1); // no refresh: never scheduled
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: join(mkdtempSync(join(tmpdir(), "fabra-serve-sched-")), "f.duckdb") } },
    definitions: { user, visits, onDemand },
    warn: () => {},
  });
  const services = withScheduler ? backgroundServices(fabra) : [];
  const server: RunningServer = await startServer({ runtime: fabra, host: "127.0.0.1", port: 0, bodyLimit: 4096, apiKeys: [], log: () => {}, services });
  cleanup.push(() => server.close());
  return { fabra, computed };
}

describe("serve with the scheduler", () => {
  it("refreshes materialized features on their schedule while serving", async () => {
    const { fabra, computed } = await serve(true);
    await new Promise((r) => setTimeout(r, 700));
    const runs = await fabra.stores.offline.latestRuns(["visits"]);
    expect(runs[0]).toMatchObject({ feature: "visits", status: "succeeded", trigger: "schedule" });
    // At least two refreshes of both entities in 700 ms at a 150 ms interval (the first is due at once).
    expect(computed.filter((id) => id === "u1").length).toBeGreaterThanOrEqual(2);
    expect(computed.filter((id) => id === "u2").length).toBeGreaterThanOrEqual(2);
  });

  it("runs nothing in the background with --no-scheduler", async () => {
    const { fabra, computed } = await serve(false);
    await new Promise((r) => setTimeout(r, 400));
    expect(computed).toEqual([]);
    expect(await fabra.stores.offline.latestRuns(["visits"])).toEqual([]);
  });
});
