// The benchmark harness: runs bench/*.bench.js (all, or those named), each in its own node process, prints a
// table and writes bench/results/<name>.json.
//
// Usage:  npm run bench                      build, then run every bench
//         npm run bench -- verify tokens     only these (names are file names without .bench.js)
//         node bench/run.js --quick ...      smaller sizes, for a fast look (also BENCH_QUICK=1)
//         node bench/run.js --list           list the benches
//
// The contract of a bench file `bench/<name>.bench.js` (plain ESM JS, importing fabra from ../dist/...):
//
//   import { runIfMain } from "./lib.js";
//   export default async function run(options) {
//     // options.quick: boolean  — use smaller sizes;  options.log(message) — progress to stderr
//     ...
//     return {
//       name: "verify",                  // = the file name without .bench.js
//       description: "records verified per second from the ledger vs raw sha256",
//       metrics: { recordsPerSecond: 41000, ... },   // flat: numbers (or short strings), units in the key
//       ratio: 0.62,                     // the headline ratio, measured against a raw baseline in the same run
//       target: ">= 0.5",                // human-readable target for the ratio
//       pass: true,                      // whether the ratio meets the target
//     };
//   }
//   runIfMain(import.meta.url, run);     // so `node bench/<name>.bench.js` runs it alone and prints the result
//
// A bench is a measurement, not a test: missing a target is reported (MISS) and the harness still exits 0.
// It exits 1 only when a bench crashes (throws, dies, or returns something that breaks the contract), and 2 on
// bad usage (an unknown bench name). Each bench runs in a fresh `node --expose-gc` process (its own heap, no JIT
// warm-up or open handles shared with the others); bench output other than the result goes to stderr.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  BENCH_DIR,
  benchOptions,
  checkResult,
  describeMachine,
  formatMetrics,
  formatNumber,
  machine,
  writeResult,
} from "./lib.js";

const SUFFIX = ".bench.js";

function discover() {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(SUFFIX))
    .sort()
    .map((f) => ({ name: f.slice(0, -SUFFIX.length), file: join(BENCH_DIR, f) }));
}

function parseArgs(argv) {
  const names = [];
  const flags = { quick: false, list: false, timeoutS: 900 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") flags.quick = true;
    else if (a === "--list") flags.list = true;
    else if (a === "--timeout") flags.timeoutS = Number(argv[++i]);
    else if (a === "--child") flags.child = argv[++i];
    else if (a === "-h" || a === "--help") flags.help = true;
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else names.push(a.replace(/\.bench\.js$/, ""));
  }
  if (!Number.isFinite(flags.timeoutS) || flags.timeoutS <= 0) usage("--timeout takes a number of seconds");
  return { names, flags };
}

function usage(problem) {
  if (problem) process.stderr.write(`bench: ${problem}\n`);
  process.stderr.write("usage: node bench/run.js [--quick] [--timeout SECONDS] [--list] [name ...]\n");
  process.exit(problem ? 2 : 0);
}

// ------------------------------------------------------------------ child: run one bench, send its result

async function child(file, quick) {
  const send = (message) =>
    new Promise((resolve, reject) => process.send(message, (err) => (err ? reject(err) : resolve())));
  try {
    const mod = await import(pathToFileURL(file).href);
    if (typeof mod.default !== "function")
      throw new Error(`${relative(process.cwd(), file)} has no default export run(options)`);
    const result = checkResult(await mod.default(benchOptions({ quick })), relative(process.cwd(), file));
    await send({ result });
  } catch (err) {
    await send({ error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
    throw err;
  }
}

// ------------------------------------------------------------------ parent

function runChild(bench, flags) {
  return new Promise((resolve) => {
    const args = [
      "--expose-gc",
      fileURLToPath(import.meta.url),
      "--child",
      bench.file,
      ...(flags.quick ? ["--quick"] : []),
    ];
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let result = null;
    let failure = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGKILL");
    }, flags.timeoutS * 1000);
    proc.on("message", (m) => {
      if (m && typeof m === "object" && "result" in m) result = m.result;
      if (m && typeof m === "object" && "error" in m) failure = m.error;
    });
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ error: `timed out after ${flags.timeoutS}s` });
      else if (failure) resolve({ error: failure });
      else if (code !== 0 || signal) resolve({ error: `exited with ${signal ?? `code ${code}`}` });
      else if (!result) resolve({ error: "finished without returning a result" });
      else resolve({ result });
    });
    proc.on("error", (err) => resolve({ error: err.message }));
  });
}

function table(rows) {
  const head = ["bench", "ratio", "target", "result", "seconds"];
  const body = rows.map((r) =>
    r.result
      ? [r.name, formatNumber(r.result.ratio), r.result.target, r.result.pass ? "PASS" : "MISS", r.seconds.toFixed(1)]
      : [r.name, "-", "-", "CRASH", r.seconds.toFixed(1)],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

async function main() {
  const { names, flags } = parseArgs(process.argv.slice(2));
  if (flags.child) return child(flags.child, flags.quick);
  if (flags.help) usage();
  const all = discover();
  if (flags.list) {
    for (const b of all) process.stdout.write(`${b.name}\n`);
    return;
  }
  const unknown = names.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length > 0)
    usage(`no such bench: ${unknown.join(", ")} (have: ${all.map((b) => b.name).join(", ") || "none"})`);
  const chosen = names.length > 0 ? all.filter((b) => names.includes(b.name)) : all;
  process.stdout.write(`fabra benchmarks${flags.quick ? " (quick)" : ""} on ${describeMachine()}\n\n`);

  const rows = [];
  for (const bench of chosen) {
    process.stdout.write(`▶ ${bench.name}\n`);
    const started = performance.now();
    const before = machine();
    const { result, error } = await runChild(bench, flags);
    const seconds = (performance.now() - started) / 1000;
    if (result) {
      const after = machine();
      const where = { ...after, loadAverage1m: Math.max(before.loadAverage1m, after.loadAverage1m) };
      const path = writeResult(bench.name, result, {
        measuredAt: new Date().toISOString(),
        machine: where,
        quick: flags.quick,
        seconds,
      });
      process.stdout.write(`  ${result.description}\n${formatMetrics(result.metrics)}\n`);
      process.stdout.write(
        `  ratio ${formatNumber(result.ratio)} (target ${result.target}) ${result.pass ? "PASS" : "MISS"}, load ${where.loadAverage1m} → ${relative(process.cwd(), path)}\n\n`,
      );
    } else {
      process.stdout.write(`  CRASHED: ${error}\n\n`);
    }
    rows.push({ name: bench.name, result, seconds });
  }
  if (rows.length === 0) process.stdout.write("no benches found (bench/*.bench.js)\n");
  else process.stdout.write(`${table(rows)}\n`);
  if (rows.some((r) => !r.result)) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
