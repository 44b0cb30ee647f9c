// `fabra serve` started through a wrapper that dies without forwarding the signal (what `npx fabra serve` + SIGTERM
// does): the server notices its parent is gone, shuts down by itself and lets go of the DuckDB file.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, sandbox } from "../helpers/cli.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A wrapper process (like npx) that starts `fabra serve` and relays its stdout, forwarding no signal. */
const WRAPPER = `
const { spawn } = require("node:child_process");
const child = spawn(process.execPath, [process.argv[1], "serve", "--port", "0"], { stdio: ["ignore", "pipe", "ignore"] });
console.log("child " + child.pid);
child.stdout.on("data", (d) => process.stdout.write(d));
`;

describe("serve under a wrapper that dies (npx)", () => {
  it("exits by itself when its parent dies, removing its state file", async () => {
    const box = sandbox("fabra-orphan-");
    const cwd = join(box.dir, "bot");
    expect((await box.run(["init", cwd])).exitCode).toBe(0);
    const wrapper = spawn(process.execPath, ["-e", WRAPPER, BIN], {
      cwd,
      env: { ...process.env, ...box.env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    const childPid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
      wrapper.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const pid = /child (\d+)/.exec(out)?.[1];
        if (pid && /fabra serving on/.test(out)) {
          clearTimeout(timer);
          resolve(Number(pid));
        }
      });
    });
    const stateFile = join(cwd, ".fabra", "fabra.duckdb.server.json");
    expect(existsSync(stateFile)).toBe(true);
    expect(alive(childPid)).toBe(true);

    // The wrapper dies (SIGKILL: nothing forwarded, as npx does not forward SIGTERM).
    wrapper.kill("SIGKILL");
    const t0 = Date.now();
    while (alive(childPid) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
    const stillAlive = alive(childPid);
    if (stillAlive) process.kill(childPid, "SIGKILL");
    expect(stillAlive).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
  }, 60_000);
});
