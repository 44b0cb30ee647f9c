// `fabra serve` runs the feature refresh scheduler as a background service (and not with --no-scheduler).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { runServer } from "../../src/server/run.js";
import { backgroundServices } from "../../src/server/services.js";
import { tempDir, tempFile } from "../helpers/temp.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function serve(
  withScheduler: boolean,
  extra: Record<string, unknown> = {},
): Promise<{ fabra: FabraRuntime; computed: string[]; server: RunningServer; logs: string[] }> {
  const computed: string[] = [];
  const user = entity("user");
  const visits = feature(
    { entity: user, refresh: "150ms", materialize: true, entities: ["u1", "u2"] },
    (id: string) => {
      computed.push(id);
      return id.length;
    },
  );
  const onDemand = feature({ entity: user }, () => 1); // no refresh: never scheduled
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: tempFile("fabra-serve-sched-", "f.duckdb") } },
    definitions: { user, visits, onDemand, ...extra },
    warn: () => {},
  });
  const services = withScheduler ? backgroundServices(fabra) : [];
  const logs: string[] = [];
  const server: RunningServer = await startServer({
    runtime: fabra,
    host: "127.0.0.1",
    port: 0,
    bodyLimit: 4096,
    apiKeys: [],
    log: (l) => logs.push(l),
    services,
  });
  cleanup.push(() => server.close());
  return { fabra, computed, server, logs };
}

describe("serve with the scheduler", () => {
  it("refreshes materialized features on their schedule while serving", async () => {
    const { fabra, computed } = await serve(true);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      if (computed.filter((id) => id === "u2").length >= 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const runs = await fabra.stores.offline.latestRuns(["visits"]);
    // The newest run may already be the next refresh, still running.
    expect(runs[0]).toMatchObject({
      feature: "visits",
      trigger: "schedule",
      status: expect.stringMatching(/^(succeeded|running)$/),
    });
    // Refreshed again and again at a 150 ms interval (the first is due at once).
    expect(computed.filter((id) => id === "u1").length).toBeGreaterThanOrEqual(2);
    expect(computed.filter((id) => id === "u2").length).toBeGreaterThanOrEqual(2);
  });

  it("runs nothing in the background with --no-scheduler", async () => {
    const { fabra, computed } = await serve(false);
    await new Promise((r) => setTimeout(r, 400));
    expect(computed).toEqual([]);
    expect(await fabra.stores.offline.latestRuns(["visits"])).toEqual([]);
  });

  it("logs the scheduler's runs and errors (concisely) and counts them in /metrics", async () => {
    const user = entity("user");
    const broken = feature(
      { entity: user, refresh: "1h", materialize: true, entities: { sql: "SELECT id FROM no_such_table" } },
      (id: string) => id,
    );
    const { server, logs } = await serve(true, { broken });
    // Until both features have run once (polled: a loaded machine may take longer than a fixed sleep).
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      if (logs.some((l) => l.startsWith("scheduler: visits:")) && logs.some((l) => l.startsWith("scheduler: broken:")))
        break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(logs).toContainEqual(expect.stringMatching(/^scheduler: visits: run_\S+ succeeded, 2 written in \d+ ms$/));
    expect(logs).toContainEqual(
      expect.stringMatching(
        /^scheduler: broken: run_\S+ interrupted after 0 written: .*no_such_table.* \(retried with backoff\)$/,
      ),
    );
    // Backoff: one failed attempt so far, not a loop of them.
    expect(logs.filter((l) => l.startsWith("scheduler: broken:")).length).toBe(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^fabra_scheduler_runs_total\{feature="visits",status="succeeded"\} [1-9]/m);
    expect(metrics).toMatch(/^fabra_scheduler_runs_total\{feature="broken",status="interrupted"\} 1$/m);
    expect(metrics).toContain("# TYPE fabra_scheduler_errors_total counter");
  });

  it("the serve banner says what the scheduler refreshes", async () => {
    const dir = tempDir("fabra-serve-banner-");
    writeFileSync(
      join(dir, "fabra.config.ts"),
      `export default { definitions: ["./defs.ts"], stores: { offline: { type: "duckdb", path: "f.duckdb" } } };\n`,
    );
    writeFileSync(
      join(dir, "defs.ts"),
      `import { entity, feature } from "fabra";
export const user = entity("user");
export const openTickets = feature({ entity: user, refresh: "5m", materialize: true, entities: ["u1"] }, () => 1);
export const userTier = feature({ entity: user, refresh: "1h", materialize: true, entities: ["u1"] }, () => "free");
export const onDemand = feature({ entity: user }, () => 1);
`,
    );
    const lines: string[] = [];
    await runServer({
      cwd: dir,
      port: 0,
      host: "127.0.0.1",
      say: (l) => lines.push(l),
      warn: () => {},
      onListening: (s) => void s.close(),
    });
    expect(lines).toContain("  scheduler  refreshes openTickets (5m), userTier (1h)");
  });
});
