// Where a journal write syncs (stores/duckdb/sync-place.ts): several rows, or a write soon after the previous one,
// on the thread pool; a pool sync that nobody joined sends the lone writes after it to the calling thread for a
// while (doubling, up to a bound); company ends that at once. Times are given, not measured. And the count of
// assemblies in flight (util/assemblies-in-flight.ts) that tells company during a sync.
import { describe, expect, it } from "vitest";
import { context, createFabra } from "../../src/index.js";
import { BUSY_MS, QUIET_MAX_MS, QUIET_MS, SyncPlace } from "../../src/stores/duckdb/sync-place.js";
import { assembliesInFlight, assemblyBegun } from "../../src/util/assemblies-in-flight.js";
import { tempFile } from "../helpers/temp.js";

/** A clock that only moves when told: `later(ms)` moves it on and gives the new time. */
function clock(start = 1000) {
  let t = start;
  return { later: (ms: number) => (t += ms), now: () => t };
}

describe("where a journal write syncs", () => {
  it("a lone write apart from the previous one on the calling thread; several rows, or a close write, on the pool", () => {
    const place = new SyncPlace();
    expect(place.onPool(1, 1000)).toBe(false);
    expect(place.onPool(1, 1000 + BUSY_MS + 1)).toBe(false);
    expect(place.onPool(3, 2000)).toBe(true);
    expect(place.onPool(1, 2000 + BUSY_MS / 2)).toBe(true);
  });

  it("one caller's consecutive writes: after a pool sync nobody joined, lone writes stay on the calling thread", () => {
    const place = new SyncPlace();
    const c = clock();
    place.onPool(1, c.now());
    expect(place.onPool(1, c.later(1))).toBe(true); // close to the previous: a probe for company
    place.heard(false, c.later(0.5)); // nobody came
    const quietEnd = c.now() + QUIET_MS;
    const places: boolean[] = [];
    while (c.now() < quietEnd - 1) places.push(place.onPool(1, c.later(1)));
    expect(places.length).toBeGreaterThan(90);
    expect(places.every((p) => !p)).toBe(true);
    expect(place.onPool(1, c.later(quietEnd + 0.5 - c.now()))).toBe(true); // the next probe
    place.heard(false, c.later(0.5));
    // Each lonely probe doubles the quiet time, up to QUIET_MAX_MS.
    expect(place.onPool(1, c.now() + 2 * QUIET_MS - 1)).toBe(false);
    expect(place.onPool(1, c.now() + 2 * QUIET_MS + 0.5)).toBe(true);
    for (let i = 0; i < 10; i++) {
      place.onPool(1, c.later(QUIET_MAX_MS));
      expect(place.onPool(1, c.later(1))).toBe(true);
      place.heard(false, c.now());
    }
    expect(place.onPool(1, c.now() + QUIET_MAX_MS - 1)).toBe(false);
    expect(place.onPool(1, c.now() + QUIET_MAX_MS + 0.5)).toBe(true);
  });

  it("company (rows together, or appends arriving during the sync) keeps close writes on the pool", () => {
    const place = new SyncPlace();
    const c = clock();
    place.onPool(1, c.now());
    expect(place.onPool(1, c.later(1))).toBe(true);
    place.heard(false, c.later(0.5));
    expect(place.onPool(1, c.later(1))).toBe(false); // quiet
    expect(place.onPool(2, c.later(1))).toBe(true); // several rows go to the pool even when quiet
    place.heard(true, c.later(0.5)); // and company ends the quiet time
    expect(place.onPool(1, c.later(1))).toBe(true);
    place.heard(true, c.later(0.5));
    expect(place.onPool(1, c.later(1))).toBe(true);
    // After company, a lonely probe starts again from QUIET_MS, not from a doubled time.
    place.heard(false, c.later(0.5));
    place.onPool(1, c.later(QUIET_MS + 0.5));
    expect(place.onPool(1, c.later(1))).toBe(true);
  });
  it("counts assemblies from begun to done, once however often done is called", () => {
    const before = assembliesInFlight();
    const a = assemblyBegun();
    const b = assemblyBegun();
    expect(assembliesInFlight()).toBe(before + 2);
    a();
    a();
    expect(assembliesInFlight()).toBe(before + 1);
    b();
    expect(assembliesInFlight()).toBe(before);
  });

  it("an assembly is counted while it runs, failed or not, and not after", async () => {
    const seen: number[] = [];
    let gate: Promise<void> = Promise.resolve();
    let open = () => {};
    let arrived = 0;
    const counted = context({}, async () => {
      if (++arrived === 3) open(); // the pair's second: both have begun
      await gate;
      seen.push(assembliesInFlight());
      return [{ content: "hello" }];
    });
    const failing = context({}, async () => {
      seen.push(assembliesInFlight());
      throw new Error("no");
    });
    const fabra = await createFabra({
      stores: { offline: { type: "duckdb", path: tempFile("fabra-in-flight-", "f.duckdb") } },
      definitions: { counted, failing },
      warn: () => {},
    });
    try {
      const before = assembliesInFlight();
      await counted({});
      gate = new Promise((resolve) => {
        open = resolve;
      });
      await Promise.all([counted({}), counted({})]);
      await expect(failing({})).rejects.toThrow(/no/);
      expect(seen).toEqual([before + 1, before + 2, before + 2, before + 1]);
      expect(assembliesInFlight()).toBe(before);
    } finally {
      await fabra.close();
    }
  });
});
