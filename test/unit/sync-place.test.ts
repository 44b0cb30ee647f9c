// Where a journal write syncs (stores/duckdb/sync-place.ts): on the thread pool when it can have company (several
// rows, appends queued, other assemblies in flight), else on the calling thread; and the count of assemblies in
// flight (util/assemblies-in-flight.ts) that tells it.
import { describe, expect, it } from "vitest";
import { context, createFabra } from "../../src/index.js";
import { syncsOnPool } from "../../src/stores/duckdb/sync-place.js";
import {
  assembliesInFlight,
  assemblyBegun,
  clientConnected,
  connectedClients,
  mayHaveCompany,
} from "../../src/util/company.js";
import { tempFile } from "../helpers/temp.js";

describe("where a journal write syncs", () => {
  it("a lone write with nobody else assembling or connected on the calling thread", () => {
    const done = assemblyBegun(); // the write's own assembly
    try {
      expect(assembliesInFlight()).toBe(1);
      expect(syncsOnPool(1, 0)).toBe(false);
      const client = clientConnected(); // one client of a server: still alone
      expect(syncsOnPool(1, 0)).toBe(false);
      client();
    } finally {
      done();
    }
    expect(syncsOnPool(1, 0)).toBe(false); // an import, a replay: no assembly at all
  });

  it("a write that can have company on the pool: several rows, appends queued, other assemblies, other clients", () => {
    expect(syncsOnPool(2, 0)).toBe(true);
    expect(syncsOnPool(1, 1)).toBe(true);
    const assemblies = [assemblyBegun(), assemblyBegun()];
    expect(syncsOnPool(1, 0)).toBe(true); // another assembly will append soon
    expect(mayHaveCompany(2)).toBe(false); // both of them are in this write
    for (const done of assemblies) done();
    const clients = [clientConnected(), clientConnected()];
    expect(connectedClients()).toBe(2);
    expect(syncsOnPool(1, 0)).toBe(true); // the other client's request may still be unread
    for (const done of clients) done();
    expect(connectedClients()).toBe(0);
    expect(syncsOnPool(1, 0)).toBe(false);
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
