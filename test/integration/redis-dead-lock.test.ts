// A refresh lock whose holder died without releasing it: on the same host fabra sees the process is gone and takes
// the lock over at once (instead of "another process is materializing" until the TTL runs out); a live holder
// keeps it, and a refused `materialize` says who holds it and until when.
import { spawn, spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import { refreshLockKey } from "../../src/engine/features/locks.js";
import { open as openRedisLocks } from "../../src/stores/redis/locks.js";
import { deleteKeys, REDIS_URL, uniqueName } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

const prefix = `${uniqueName()}:`;
const raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  raw.disconnect();
  await deleteKeys(REDIS_URL, prefix);
});

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

const holderValue = (pid: number, host = hostname()) =>
  JSON.stringify({ id: "00000000-0000-4000-8000-000000000000", pid, host, at: "2026-01-01T00:00:00.000Z" });

describe("a lock held by a dead process", () => {
  const target = { url: REDIS_URL, timeoutMs: 1000, service: "stores.online" };

  it("on this host: taken over at once; a live holder, another host's or an unreadable one keeps it", async () => {
    const locks = await openRedisLocks(target, prefix);
    cleanups.push(() => locks.close());
    await raw.set(locks.key("job:dead"), holderValue(deadPid()), "PX", 60_000);
    const token = await locks.acquire("job:dead", 5000);
    expect(token).toEqual(expect.any(String));
    expect(await locks.holder("job:dead")).toMatchObject({ pid: process.pid, host: hostname() });
    expect(await locks.release("job:dead", token as string)).toBe(true);

    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    cleanups.push(() => {
      sleeper.kill("SIGKILL");
    });
    await raw.set(locks.key("job:live"), holderValue(sleeper.pid as number), "PX", 60_000);
    expect(await locks.acquire("job:live", 5000)).toBeNull();
    await raw.set(locks.key("job:far"), holderValue(deadPid(), "some-other-host"), "PX", 60_000);
    expect(await locks.acquire("job:far", 5000)).toBeNull();
    await raw.set(locks.key("job:old"), "3f1c0f4e-6d7a-4c1e-9a55-0b5b1f7f2d10", "PX", 60_000);
    expect(await locks.acquire("job:old", 5000)).toBeNull();
  });

  it("materialize runs over a dead holder's lock, and names a live holder and until when", async () => {
    const user = entity("user");
    const score = feature({ entity: user, materialize: true, entities: ["a", "b"] }, (id: string) => id.length);
    const fabra: FabraRuntime = await createFabra({
      definitions: { user, score },
      stores: {
        offline: { type: "duckdb", path: tempFile("fabra-deadlock-", "f.duckdb") },
        online: { type: "redis", url: REDIS_URL, keyPrefix: prefix },
      },
      warn: () => {},
    });
    cleanups.push(() => fabra.close());
    const lockKey = `${prefix}lock:${refreshLockKey("score")}`;

    await raw.set(lockKey, holderValue(deadPid()), "PX", 60_000);
    const [ran] = await fabra.materialize();
    expect(ran).toMatchObject({ status: "succeeded", written: 2 });

    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    cleanups.push(() => {
      sleeper.kill("SIGKILL");
    });
    await raw.set(lockKey, holderValue(sleeper.pid as number), "PX", 60_000);
    const [locked] = await fabra.materialize();
    expect(locked?.status).toBe("locked");
    expect(locked?.error).toMatch(
      new RegExp(
        `another process is materializing score \\(its refresh lock is held by PID ${sleeper.pid} on host ${hostname()} since 2026-01-01T00:00:00.000Z, until 20\\d\\d-.*Z unless it is extended\\)`,
      ),
    );
  });
});
