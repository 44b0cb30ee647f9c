// Opening the stores: when one fails to open, those already open are closed, and the open failure is what is
// reported, even if a close fails too.
import { describe, expect, it } from "vitest";
import { openAllOrNone } from "../../src/stores/index.js";
import { FabraError } from "../../src/errors.js";

function store(name: string, log: string[], closeError?: Error) {
  return {
    name,
    async close() {
      log.push(`close ${name}`);
      if (closeError) throw closeError;
    },
  };
}

describe("openAllOrNone", () => {
  it("reports the open failure, not a close failure after it, and closes what was open newest first", async () => {
    const log: string[] = [];
    const openFailure = new FabraError(
      "STORE_UNAVAILABLE",
      "stores.vector: Postgres at 127.0.0.1:1 refused the connection",
    );
    const result = openAllOrNone(async (track) => ({
      a: await track(Promise.resolve(store("a", log, new Error("a could not close")))),
      b: await track(Promise.resolve(store("b", log))),
      c: await track(Promise.reject<ReturnType<typeof store>>(openFailure)),
    }));
    await expect(result).rejects.toBe(openFailure);
    expect(log).toEqual(["close b", "close a"]);
  });

  it("hands back a close for every store it opened", async () => {
    const log: string[] = [];
    const { value, close } = await openAllOrNone(async (track) => [
      await track(Promise.resolve(store("a", log))),
      await track(Promise.resolve(store("b", log))),
    ]);
    expect(value.map((s) => s.name)).toEqual(["a", "b"]);
    await close();
    expect(log).toEqual(["close b", "close a"]);
  });
});
