// The refresh scheduler with short intervals, in virtual time (fake timers; the DuckDB offline store's I/O takes
// none): it fires on its interval and on cron slots, never runs a refresh twice at once (in one scheduler or two
// sharing the lock store), resumes an unfinished run at start, and stops cleanly (the running refresh writes its
// batch and is left to resume).
import { afterEach, describe, expect, it } from "vitest";
import {
  createFabra,
  entity,
  feature,
  type FabraRuntime,
  type Scheduler,
  type SchedulerEvent,
} from "../../src/index.js";
import { datetimeToMs } from "../../src/record/datetime.js";
import { materializeFeature } from "../../src/engine/features/materialize.js";
import { startScheduler, type SchedulerOptions } from "../../src/engine/features/schedule.js";
import { tempFile } from "../helpers/temp.js";
import { virtualTime, type VirtualTime } from "../helpers/virtual-time.js";

const open: (FabraRuntime | Scheduler)[] = [];
let clock: VirtualTime | null = null;
afterEach(async () => {
  while (open.length > 0) {
    const x = open.pop();
    if (x && "stop" in x) await (clock ? clock.settle(x.stop()) : x.stop());
    else await x?.close();
  }
  clock?.restore();
  clock = null;
});

/** `ms` of virtual time. */
const sleep = (ms: number) => (clock ? clock.advance(ms) : Promise.reject(new Error("no scheduler started")));
/** Stops schedulers, letting virtual time run while their refreshes finish their batch. */
const stopping = <T>(stop: Promise<T>) => (clock ? clock.settle(stop) : stop);

/** Starts a scheduler on `fabra` in virtual time (installed by the first one), its offline store I/O tracked. */
function scheduleOn(fabra: FabraRuntime, options: SchedulerOptions): Scheduler {
  clock ??= virtualTime();
  const stores = { ...fabra.stores, offline: clock.track(fabra.stores.offline) };
  const s = startScheduler({ definitions: fabra.definitions, settings: fabra.settings, stores }, options);
  open.push(s);
  return s;
}

async function setup(options: { refresh: string; computeMs: number; entities?: number; name?: string }) {
  const user = entity("user");
  let active = 0;
  let maxActive = 0;
  let calls = 0;
  const ids = Array.from({ length: options.entities ?? 2 }, (_, i) => `u${i}`);
  const name = options.name ?? "score";
  const score = feature(
    { name, entity: user, refresh: options.refresh, materialize: true, entities: ids },
    async (id: string) => {
      active++;
      calls++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, options.computeMs)); // virtual once the scheduler runs
      active--;
      return id;
    },
  );
  const path = tempFile("fabra-sched-", "fabra.duckdb");
  const fabra = await createFabra({
    definitions: { user, score },
    stores: { offline: { type: "duckdb", path } },
    warn: () => {},
  });
  open.push(fabra);
  const events: (SchedulerEvent & { t: number; by: string })[] = [];
  const start = (by: string, extra: SchedulerOptions = {}) =>
    scheduleOn(fabra, {
      jitterMs: 0,
      concurrency: 1,
      onEvent: (e) => events.push({ ...e, t: Date.now(), by }),
      ...extra,
    });
  return { fabra, events, start, stats: () => ({ calls, maxActive }), ids };
}

/** Runs never overlap: every "started" comes after the previous run's "finished", whoever ran it. */
function expectSequential(events: { type: string }[]) {
  let running = false;
  for (const e of events) {
    if (e.type === "started") {
      expect(running).toBe(false);
      running = true;
    } else if (e.type === "finished") running = false;
  }
}

describe("scheduler", () => {
  it("refreshes on its interval, counting from each run's start", async () => {
    const { events, start, fabra } = await setup({ refresh: "300ms", computeMs: 5 });
    const scheduler = start("a");
    await sleep(1100);
    await stopping(scheduler.stop());
    const finished = events.filter((e) => e.type === "finished") as Extract<SchedulerEvent, { type: "finished" }>[];
    expect(finished.length).toBeGreaterThanOrEqual(3);
    expect(finished.length).toBeLessThanOrEqual(4);
    // Every run wrote both entities, except a last one the stop may have caught mid-way (left to resume).
    const last = finished.at(-1)?.result;
    if (last?.status === "interrupted") expect(last.error).toMatch(/scheduler is stopping/);
    expect(finished.slice(0, -1).every((e) => e.result.status === "succeeded" && e.result.written === 2)).toBe(true);
    const starts = finished.map((e) => datetimeToMs(e.result.startedAt));
    for (let i = 1; i < starts.length; i++)
      expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(299);
    expect(new Set(finished.map((e) => e.result.runId)).size).toBe(finished.length);
    const [stored] = await fabra.stores.offline.latestRuns(["score"]);
    expect(stored).toMatchObject({ trigger: "schedule", runId: last?.runId, status: last?.status });
    expect(scheduler.status()).toEqual([
      expect.objectContaining({ feature: "score", refresh: "300ms", running: false, nextRunAt: null }),
    ]);
  });

  it("never starts a refresh that is still running: a slow run delays the next one", async () => {
    const { events, start, stats } = await setup({ refresh: "100ms", computeMs: 150, entities: 2 });
    const scheduler = start("a");
    await sleep(1000);
    await stopping(scheduler.stop());
    expectSequential(events);
    expect(stats().maxActive).toBe(1);
    expect(events.filter((e) => e.type === "started").length).toBeGreaterThanOrEqual(2);
  });

  it("two schedulers sharing the lock and offline stores run each interval once between them", async () => {
    const { events, start } = await setup({ refresh: "400ms", computeMs: 20, entities: 3 });
    const a = start("a");
    const b = start("b");
    await sleep(1300);
    await stopping(Promise.all([a.stop(), b.stop()]));
    const finished = events.filter((e) => e.type === "finished") as (Extract<SchedulerEvent, { type: "finished" }> & {
      by: string;
    })[];
    // ~1300 ms / 400 ms: 4 runs at most (at 0, 400, 800, 1200), not 8.
    expect(finished.length).toBeGreaterThanOrEqual(3);
    expect(finished.length).toBeLessThanOrEqual(4);
    expectSequential(events);
    expect(events.some((e) => e.type === "skipped")).toBe(true);
  });

  it("fires on cron slots, each slot once across two schedulers", async () => {
    const { events, start } = await setup({ refresh: "* * * * * *", computeMs: 5 });
    const a = start("a");
    const b = start("b");
    await sleep(2600);
    await stopping(Promise.all([a.stop(), b.stop()]));
    const finished = events.filter((e) => e.type === "finished") as Extract<SchedulerEvent, { type: "finished" }>[];
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished.length).toBeLessThanOrEqual(3);
    const seconds = finished.map((e) => Math.floor(datetimeToMs(e.result.startedAt) / 1000));
    expect(new Set(seconds).size).toBe(seconds.length); // one run per one-second slot
  });

  it("resumes an unfinished run at start, and stop() leaves a running refresh interrupted and resumable", async () => {
    const { fabra, events, start } = await setup({ refresh: "1h", computeMs: 30, entities: 30 });
    const { run } = await fabra.stores.offline.beginRun("score", "schedule");
    await fabra.stores.offline.writeValues([
      { feature: "score", entityId: "u0", valueJson: '"u0"', computedAt: run.startedAt, runId: run.runId },
    ]);
    const scheduler = start("a", { concurrency: 2 });
    await sleep(250);
    await stopping(scheduler.stop());
    const started = events.find((e) => e.type === "started");
    expect(started).toMatchObject({ runId: run.runId, resumed: true });
    const finished = events.find((e) => e.type === "finished") as Extract<SchedulerEvent, { type: "finished" }>;
    expect(finished.result).toMatchObject({
      runId: run.runId,
      status: "interrupted",
      alreadyWritten: 1,
      error: expect.stringMatching(/scheduler is stopping/),
    });
    expect(finished.result.written).toBe(finished.result.computed);
    expect((await fabra.stores.offline.latestRuns(["score"]))[0]).toMatchObject({
      runId: run.runId,
      status: "interrupted",
    });
    // Another scheduler picks it up and finishes the same run.
    const again = start("b", { concurrency: 8 });
    for (let i = 0; i < 100 && !events.some((e) => e.by === "b" && e.type === "finished"); i++) await sleep(20);
    await stopping(again.stop());
    expect(events.find((e) => e.by === "b" && e.type === "finished")).toMatchObject({
      result: { runId: run.runId, status: "succeeded" },
    });
    expect((await fabra.stores.offline.latestRuns(["score"]))[0]).toMatchObject({
      runId: run.runId,
      status: "succeeded",
      entitiesWritten: 30,
    });
  });

  it("rejects a refresh that is neither a duration nor a cron expression (when the definitions load)", async () => {
    await expect(setup({ refresh: "every tuesday", computeMs: 1 })).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringMatching(/refresh of feature score is "every tuesday": neither a duration nor a cron/),
    });
  });
});

describe("scheduler failures", () => {
  async function failing() {
    const user = entity("user");
    // The entities query fails every time: each attempt interrupts the run, and nothing a retry does can fix it.
    const broken = feature(
      { entity: user, refresh: "1h", materialize: true, entities: { sql: "SELECT id FROM no_such_table" } },
      (id: string) => id,
    );
    const monthly = feature({ entity: user, refresh: "1h", materialize: true }, () => 1); // no entities
    const onDemand = feature({ entity: user }, () => 1);
    const warnings: string[] = [];
    const path = tempFile("fabra-sched-fail-", "fabra.duckdb");
    const fabra = await createFabra({
      definitions: { user, broken, monthly, onDemand },
      stores: { offline: { type: "duckdb", path } },
      warn: (w) => warnings.push(w),
    });
    open.push(fabra);
    return { fabra, warnings };
  }

  it("backs off a run that keeps failing (1 s, 2 s, ...) instead of retrying it in a loop", async () => {
    const { fabra, warnings } = await failing();
    const events: (SchedulerEvent & { t: number })[] = [];
    const scheduler = scheduleOn(fabra, { jitterMs: 0, onEvent: (e) => events.push({ ...e, t: Date.now() }) });
    await sleep(2600);
    await stopping(scheduler.stop());
    const finished = events.filter((e) => e.type === "finished") as (Extract<SchedulerEvent, { type: "finished" }> & {
      t: number;
    })[];
    // Attempts at about 0 s, 1 s and 3 s: two in 2.6 s, never dozens.
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished.length).toBeLessThanOrEqual(3);
    expect(finished.every((e) => e.feature === "broken" && e.result.status === "interrupted")).toBe(true);
    expect(finished[0]?.result.error).toMatch(/no_such_table/);
    expect((finished[1]?.t ?? 0) - (finished[0]?.t ?? 0)).toBeGreaterThanOrEqual(950);
    // Only the schedulable feature is scheduled; the one without entities is named in a warning, and never gets a run.
    expect(scheduler.status().map((s) => s.feature)).toEqual(["broken"]);
    expect(warnings).toContain(
      "feature monthly has refresh and materialize: true but no entities, so no scheduler refreshes it",
    );
    expect(await fabra.stores.offline.latestRuns(["monthly"])).toEqual([]);
  });

  it("refuses named features it cannot refresh, saying why, and unknown ones with a did-you-mean", async () => {
    const { fabra } = await failing();
    expect(() => fabra.startScheduler({ features: ["brokn"] })).toThrow(
      expect.objectContaining({ code: "FEATURE_NOT_FOUND", hint: 'Did you mean "broken"?' }),
    );
    expect(() => fabra.startScheduler({ features: ["zzzzzzzzzz"] })).toThrow(
      expect.objectContaining({ hint: "Known features: broken, monthly, onDemand." }),
    );
    expect(() => fabra.startScheduler({ features: ["monthly"] })).toThrow(
      expect.objectContaining({
        code: "INVALID_ARGUMENT",
        message: "Feature monthly declares no entities to refresh, so it cannot be refreshed on a schedule",
        hint: expect.stringContaining("Features refreshed on a schedule: broken."),
      }),
    );
    expect(() => fabra.startScheduler({ features: ["onDemand"] })).toThrow(
      expect.objectContaining({ message: expect.stringContaining("Feature onDemand has no refresh schedule") }),
    );
  });

  it("a feature without entities never begins a run (a definition error is no run to resume)", async () => {
    const { fabra } = await failing();
    await expect(materializeFeature(fabra, "monthly")).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: "Feature monthly has no entities to materialize",
    });
    expect(await fabra.stores.offline.latestRuns(["monthly"])).toEqual([]);
  });
});
