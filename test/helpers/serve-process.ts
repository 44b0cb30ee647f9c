// Starts the built CLI's `fabra serve` as a child process (through the CLI helper) and waits for the URL it announces.
import type { ResultPromise } from "execa";
import { type Env, fabra } from "./cli.js";

export async function startServeProcess(
  args: string[],
  opts: { cwd: string; env: Env },
): Promise<{ child: ResultPromise; url: string }> {
  const child = fabra(["serve", "--port", "0", ...args], { cwd: opts.cwd, env: opts.env });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /fabra serving on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void child.then((r) => reject(new Error(`serve exited early (${r.exitCode}): ${r.stderr}`)));
  });
  return { child: child as unknown as ResultPromise, url };
}
