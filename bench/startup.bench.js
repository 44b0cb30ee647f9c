// "startup" (issue 9): wall time of whole `fabra` CLI processes against bare `node -e 0` in the same run:
// --version, --help, `context verify <id>`, `context show <id>` and `context run` on the basic template (a temp
// project made by `fabra init`, run once first so a record exists and the definitions' transpile cache is warm).
// Targets (each command's median ÷ node's median): --version / --help <= 3, verify / show <= 6, context run <= 10.
// The headline ratio is the worst command's ratio divided by its own target (<= 1 when every target is met).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, now, round, runIfMain, tempDir } from "./lib.js";

const BIN = fileURLToPath(new URL("../bin/fabra.js", import.meta.url));

/** The environment of every measured process: no FABRA_* settings from the caller, no colour, no TTY tricks. */
function cleanEnv() {
  const env = { NO_COLOR: "1" };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("FABRA_") && v !== undefined) env[k] = v;
  return env;
}

function spawnTimed(args, cwd, env) {
  const start = now();
  const res = spawnSync(process.execPath, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const ms = now() - start;
  if (res.status !== 0)
    throw new Error(`node ${args.join(" ")} exited ${res.status ?? res.signal}: ${res.stderr || res.stdout}`);
  return { ms, stdout: res.stdout };
}

export default async function run(options) {
  const rounds = options.quick ? 3 : 9;
  const dir = tempDir("fabra-bench-startup-");
  const env = cleanEnv();
  try {
    const project = join(dir.path, "project");
    spawnTimed([BIN, "init", project, "--template", "basic"], dir.path, env);
    const runArgs = [BIN, "context", "run", "greetingContext", "--input", "userId=u_1", "--input", "message=hi"];
    const first = spawnTimed([...runArgs, "--json"], project, env);
    const id = JSON.parse(first.stdout).context_id;
    if (typeof id !== "string")
      throw new Error(`context run --json printed no context_id: ${first.stdout.slice(0, 200)}`);
    options.log(`project in ${project}, record ${id} (first context run ${first.ms.toFixed(0)} ms)`);

    const commands = [
      { key: "version", args: [BIN, "--version"], target: 3 },
      { key: "help", args: [BIN, "--help"], target: 3 },
      { key: "verify", args: [BIN, "context", "verify", id], target: 6 },
      { key: "show", args: [BIN, "context", "show", id], target: 6 },
      { key: "run", args: runArgs, target: 10 },
    ];
    const baseline = ["-e", "0"];
    const samples = { node: [] };
    for (const c of commands) samples[c.key] = [];
    spawnTimed(baseline, project, env); // warm the file cache for node itself
    for (let r = 0; r < rounds; r++) {
      // Bare node between every command, the order rotating per round, so load from other processes hits both.
      const order = commands.map((_, i) => commands[(i + r) % commands.length]);
      for (const c of order) {
        samples.node.push(spawnTimed(baseline, project, env).ms);
        samples[c.key].push(spawnTimed(c.args, project, env).ms);
      }
    }
    const nodeMs = median(samples.node);
    const metrics = { rounds, nodeMs: round(nodeMs, 1), firstContextRunMs: round(first.ms, 1) };
    let worst = 0;
    let pass = true;
    for (const c of commands) {
      const ms = median(samples[c.key]);
      const ratio = ms / nodeMs;
      metrics[`${c.key}Ms`] = round(ms, 1);
      metrics[`${c.key}Ratio`] = round(ratio, 2);
      metrics[`${c.key}Target`] = `<= ${c.target}`;
      worst = Math.max(worst, ratio / c.target);
      if (ratio > c.target) pass = false;
      options.log(
        `${c.args.slice(1).join(" ")}: ${ms.toFixed(0)} ms = ${ratio.toFixed(2)}× node (target ${c.target}×)`,
      );
    }
    return {
      name: "startup",
      description:
        "CLI wall time ÷ `node -e 0` (medians); ratio = the worst command's ratio ÷ its target (version/help 3, verify/show 6, run 10)",
      metrics,
      ratio: round(worst),
      target: "<= 1",
      pass,
    };
  } finally {
    dir.cleanup();
  }
}

runIfMain(import.meta.url, run);
