// The OnlineStore and LockStore contracts on memory and on the real Redis (a private key prefix per run).
import { describe } from "vitest";
import { open as openMemoryLocks } from "../../src/stores/memory/locks.js";
import { open as openRedisLocks } from "../../src/stores/redis/locks.js";
import { open as openMemory } from "../../src/stores/memory/online.js";
import { open as openRedis } from "../../src/stores/redis/online.js";
import { lockStoreContract } from "../contract/lock-store.js";
import { onlineStoreContract } from "../contract/online-store.js";
import { deleteKeys, REDIS_URL, redisUp, uniqueName } from "../helpers/services.js";

onlineStoreContract("memory", { open: async () => openMemory() });
lockStoreContract("memory", {
  open: async () => {
    const store = openMemoryLocks();
    return [store, store];
  },
});

const up = await redisUp();
describe.skipIf(!up)("real Redis", () => {
  const prefix = `${uniqueName()}:`;
  const target = { url: REDIS_URL, timeoutMs: 1000, service: "stores.online" };
  onlineStoreContract("redis", { open: () => openRedis(target, prefix), cleanup: () => deleteKeys(REDIS_URL, prefix) });
  lockStoreContract("redis", {
    open: async () => [await openRedisLocks(target, prefix), await openRedisLocks(target, prefix)],
    cleanup: () => deleteKeys(REDIS_URL, prefix),
  });
});
