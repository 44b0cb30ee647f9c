// Health probe of the Redis online cache for `fabra doctor` and GET /ready: the server's version (6 or newer) and a
// write/read/delete round trip under the key prefix (the key expires by itself should the delete not arrive).
import { randomUUID } from "node:crypto";
import { maskUrl } from "../../util/mask-url.js";
import { failedCheck } from "../check.js";
import type { StoreCheck } from "../types.js";
import { redisVersion, type RedisConnection } from "./client.js";

export async function probeRedis(conn: RedisConnection, keyPrefix: string): Promise<StoreCheck[]> {
  const { target } = conn;
  const label = `${target.service} (Redis)`;
  try {
    const version = await redisVersion(conn);
    const major = Number(version.split(".")[0]);
    const checks: StoreCheck[] = [
      major >= 6
        ? { name: label, state: "ok", detail: `Redis ${version} at ${maskUrl(target.url)}, key prefix "${keyPrefix}"` }
        : {
            name: label,
            state: "fail",
            detail: `Redis ${version} at ${maskUrl(target.url)}; fabra needs 6 or newer`,
            fix: "Upgrade Redis to 6+.",
          },
    ];
    const key = `${keyPrefix}doctor:${randomUUID()}`;
    const started = performance.now();
    await conn.client.set(key, "probe", "PX", 10_000);
    const back = await conn.client.get(key);
    await conn.client.del(key);
    const ms = performance.now() - started;
    checks.push(
      back === "probe"
        ? { name: "cache writable", state: "ok", detail: `SET/GET/DEL round trip in ${ms.toFixed(1)} ms` }
        : {
            name: "cache writable",
            state: "fail",
            detail: "a value written was not read back",
            fix: "Check the Redis server (maxmemory policy, replicas answering reads).",
          },
    );
    return checks;
  } catch (err) {
    return [failedCheck(label, err)];
  }
}
