// server child: node --cpu-prof bench/.serveprof.mjs child ; parent: node bench/.serveprof.mjs
import { fork } from "node:child_process";
import autocannon from "autocannon";
if (process.argv[2] === "child") {
  const { context, createFabra, entity, feature } = await import("../dist/index.js");
  const { startServer } = await import("../dist/server/serve.js");
  const user = entity("user");
  const userTier = feature({ entity: user }, (id) => (id === "u_1" ? "enterprise" : "free"));
  const mk = async (apiKeys) => {
    const fabra = await createFabra({ stores: { offline: { type: "duckdb", path: ":memory:" }, online: { type: "memory" } }, definitions: { user, userTier }, warn: () => {} });
    return startServer({ runtime: fabra, host: "127.0.0.1", port: 0, bodyLimit: 1 << 20, apiKeys, log: () => {} });
  };
  const a = await mk([]); const b = await mk(["bench-key"]);
  process.on("message", (m) => { if (m === "exit") process.exit(0); });
  process.send({ local: a.url, keyed: b.url });
} else {
  const child = fork(new URL(import.meta.url).pathname, ["child"], { execArgv: ["--cpu-prof", "--cpu-prof-dir=/tmp/serve-prof"] });
  const urls = await new Promise((r) => child.once("message", r));
  for (const [url, headers] of [[`${urls.local}/v1/features/userTier?entity_id=u_1`, {}], [`${urls.keyed}/v1/features/userTier?entity_id=u_1`, { authorization: "Bearer bench-key" }]]) {
    await fetch(url, { headers });
    const r = await autocannon({ url, headers, duration: 5, connections: 20 });
    console.log(url, Math.round(r.requests.average), r.non2xx);
  }
  child.send("exit");
}
