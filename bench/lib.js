// Shared helpers for bench files: timing, percentiles, options, result checks, and running one bench file alone.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, "results");

/** Milliseconds, sub-microsecond resolution. */
export const now = () => performance.now();

/** The p-th percentile (0..100) of `values`, nearest-rank on a sorted copy. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** The median as the benches report it: the upper middle element of a sorted copy (the middle one for odd counts). */
export function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** p50 / p90 / p99 / mean / min / max of a list of samples. */
export function summarize(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    mean,
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** Runs `fn` once and returns how long it took in ms (awaiting it if it returns a promise). */
export async function time(fn) {
  const start = now();
  await fn();
  return now() - start;
}

/**
 * Calls `fn` repeatedly for at least `minMs` (and `minRuns` times); returns runs per second and the ms per run.
 * For throughput of something too quick to time once.
 */
export async function throughput(fn, { minMs = 1000, minRuns = 3 } = {}) {
  let runs = 0;
  const start = now();
  let elapsed = 0;
  while (elapsed < minMs || runs < minRuns) {
    await fn();
    runs++;
    elapsed = now() - start;
  }
  return { runs, ms: elapsed, perSecond: (runs * 1000) / elapsed, msPerRun: elapsed / runs };
}

/** Runs a garbage collection when node was started with --expose-gc (the harness does that), so phases start even. */
export function collectGarbage() {
  globalThis.gc?.();
}

/**
 * `rounds` rounds timing two steps on the same input, alternating which goes first (so load drifting over the run
 * lands on both alike), each after a garbage collection. `input(round)` makes the round's input, untimed;
 * `steps` is [a, b], each called with it. Returns the times in ms: [a's, b's].
 */
export async function alternateRounds(rounds, input, steps, log = () => undefined) {
  const times = [[], []];
  for (let r = 0; r < rounds; r++) {
    log(`round ${r + 1}/${rounds}`);
    const value = await input(r);
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      collectGarbage();
      const start = now();
      await steps[i](value, r);
      times[i].push(now() - start);
    }
  }
  return times;
}

/** A fresh temporary directory; `cleanup()` removes it. */
export function tempDir(prefix = "fabra-bench-") {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Rounds for display and JSON: 3 significant decimals at most. */
export function round(value, digits = 3) {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * The options every bench's run() receives: `quick` (smaller sizes, for a fast look; `--quick` or BENCH_QUICK=1),
 * `log(message)` (progress to stderr, never stdout).
 */
export function benchOptions(overrides = {}) {
  return {
    quick: overrides.quick ?? (process.env.BENCH_QUICK === "1" || process.argv.includes("--quick")),
    log: overrides.log ?? ((message) => process.stderr.write(`  · ${message}\n`)),
  };
}

/** Throws unless `result` keeps the bench contract ({ name, description, metrics, ratio, target, pass }). */
export function checkResult(result, file) {
  const problems = [];
  if (typeof result !== "object" || result === null)
    throw new Error(`${file}: run() returned ${String(result)}, not a result object`);
  if (typeof result.name !== "string" || result.name === "") problems.push("`name` must be a non-empty string");
  if (typeof result.description !== "string") problems.push("`description` must be a string");
  if (typeof result.metrics !== "object" || result.metrics === null || Array.isArray(result.metrics))
    problems.push("`metrics` must be an object");
  if (typeof result.ratio !== "number" || Number.isNaN(result.ratio)) problems.push("`ratio` must be a number");
  if (typeof result.target !== "string") problems.push('`target` must be a string such as ">= 0.5"');
  if (typeof result.pass !== "boolean") problems.push("`pass` must be a boolean");
  if (problems.length > 0) throw new Error(`${file}: run() broke the bench contract: ${problems.join("; ")}`);
  return result;
}

/** Writes bench/results/<name>.json (with when and where it was measured) and returns its path. */
export function writeResult(name, result, extra = {}) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, JSON.stringify({ ...result, ...extra }, null, 2) + "\n");
  return path;
}

/** One human line per metric: `key  value`. */
export function formatMetrics(metrics, indent = "    ") {
  const width = Math.max(0, ...Object.keys(metrics).map((k) => k.length));
  return Object.entries(metrics)
    .map(([k, v]) => `${indent}${k.padEnd(width)}  ${typeof v === "number" ? formatNumber(v) : JSON.stringify(v)}`)
    .join("\n");
}

export function formatNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 100) return String(Number(v.toFixed(1)));
  if (Math.abs(v) >= 1) return String(Number(v.toFixed(3)));
  return String(Number(v.toPrecision(3)));
}

/** Where a bench ran: cores, memory, node, and how busy the machine was (1-minute load average). */
export function machine() {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model?.trim() ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: round(loadavg()[0], 2),
  };
}

export function describeMachine(m = machine()) {
  return `${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, node ${m.node}, load ${m.loadAverage1m}`;
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl) {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(metaUrl));
  } catch {
    return false;
  }
}

/**
 * Lets a bench file run on its own (`node bench/verify.bench.js [--quick]`): runs it, prints the result and writes
 * bench/results/<name>.json. Put `runIfMain(import.meta.url, run);` at the end of every bench file.
 */
export function runIfMain(metaUrl, run) {
  if (!isMain(metaUrl)) return;
  const file = basename(fileURLToPath(metaUrl));
  run(benchOptions())
    .then((result) => {
      checkResult(result, file);
      writeResult(file.replace(/\.bench\.js$/, ""), result, {
        measuredAt: new Date().toISOString(),
        machine: machine(),
      });
      const verdict = result.pass ? "PASS" : "MISS";
      process.stdout.write(`${result.name}: ${result.description}\n${formatMetrics(result.metrics)}\n`);
      process.stdout.write(`  ratio ${formatNumber(result.ratio)} (target ${result.target}) ${verdict}\n`);
    })
    .catch((err) => {
      process.stderr.write(`${file} crashed: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    });
}

// ------------------------------------------------------------------ servers under load (serve, serve-context)
// A bench forks itself as the server child (`--serve-child`) and loads it with autocannon from the parent, as a client
// would; parent and child talk over IPC with `{ type }` messages.

/**
 * In the server child: the support-assistant project (a tier feature, a top-2 retriever over two documents, a chat
 * context) served by `fabra serve` on loopback. `offline`: the offline store config; `services(fabra)`: background
 * services to run (e.g. the log sequencer).
 */
export async function startBenchServer({ offline, apiKeys = [], services = () => [] }) {
  const { context, createFabra, entity, feature, retriever } = await import("../dist/index.js");
  const { startServer } = await import("../dist/server/serve.js");
  const user = entity("user");
  const userTier = feature({ entity: user }, (id) => (id === "u_1" ? "enterprise" : "free"));
  const docs = retriever({ index: "kb", topK: 2 });
  const chat = context({ maxTokens: 200, inputs: { userId: "string", query: "string" } }, async ({ userId, query }) => {
    const tier = await userTier.get(userId);
    const hits = await docs(query);
    return [
      { content: "You are a support assistant.", priority: 0, required: true },
      { content: `The customer is on the ${tier} tier.`, priority: 1 },
      ...hits.map((h, i) => ({ content: h.content, priority: 2 + i, source: h })),
    ];
  });
  const fabra = await createFabra({
    stores: { offline, online: { type: "memory" }, vector: { type: "memory" } },
    definitions: { user, userTier, docs, chat },
    warn: () => {},
  });
  await fabra.index.add("kb", [
    { id: "reset", content: "To reset your password open the sign-in page and choose Forgot password." },
    {
      id: "limits",
      content: "The API allows 600 requests per minute on the Pro plan; over it, requests get HTTP 429.",
    },
  ]);
  const server = await startServer({
    runtime: fabra,
    host: "127.0.0.1",
    port: 0,
    bodyLimit: 1 << 20,
    apiKeys,
    log: () => {},
    services: services(fabra),
  });
  return { fabra, server };
}

/** In the server child: a bare hono app on the same Node adapter, listening on loopback; resolves to its URL. */
export async function listenBare(app) {
  const { createServer } = await import("node:http");
  const { getRequestListener } = await import("@hono/node-server");
  const server = createServer(getRequestListener(app.fetch));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/**
 * In the server child: answers the parent's `{ type }` messages with `handlers[type](message)` (its CPU time for
 * "cpu" is built in), and exits after `handlers.exit()` for "exit".
 */
export function answerParent(handlers) {
  process.on("message", async (message) => {
    if (message?.type === "cpu") process.send({ cpu: process.cpuUsage() });
    else if (message?.type === "exit") {
      await handlers.exit?.();
      process.exit(0);
    } else process.send(await handlers[message?.type]?.(message));
  });
}

/**
 * In the parent: forks `file` as the server child with `args` and waits for its first message (what it serves).
 * `ask(message)` sends one and resolves to the answer; `stop()` ends the child.
 */
export async function forkServeChild(file, args = []) {
  const { fork } = await import("node:child_process");
  const child = fork(file, ["--serve-child", ...args], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const ask = (message) =>
    new Promise((resolve) => {
      child.once("message", resolve);
      child.send(message);
    });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.send({ type: "exit" });
      await exited;
    }
  };
  try {
    const started = await new Promise((resolve, reject) => {
      child.once("message", resolve);
      child.once("exit", (code) => reject(new Error(`the bench server exited (${code}) before listening`)));
    });
    return { started, ask, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One autocannon run against the child, with the child's CPU time per request (server work only: unlike req/s it
 * hardly depends on what else the machine is doing). Throws on any non-2xx response, error or timeout.
 * `seconds` runs from the start to the last response: a run of a fixed `amount` ends only on autocannon's next
 * 1-second tick, so its own `duration` is rounded up to whole seconds (16,000 requests answered at ~5,000/s report
 * 4.0 s), which made short runs look slow.
 */
export async function cannon(ask, options) {
  const { default: autocannon } = await import("autocannon");
  const before = (await ask({ type: "cpu" })).cpu;
  const started = performance.now();
  let answered = started;
  const instance = autocannon(options);
  instance.on("response", () => {
    answered = performance.now();
  });
  const result = await instance;
  const seconds = (answered - started) / 1000;
  const after = (await ask({ type: "cpu" })).cpu;
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(
      `${options.method ?? "GET"} ${options.url}: ${result.non2xx} non-2xx responses, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  const cpuUs = after.user - before.user + after.system - before.system;
  return { result, seconds, cpu_us_per_req: Math.round((cpuUs / Math.max(1, result.requests.total)) * 10) / 10 };
}
