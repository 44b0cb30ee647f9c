// Starts the built CLI's `fabra serve` as a child process and waits for the URL it announces.
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";

const BIN = join(import.meta.dirname, "..", "..", "bin", "fabra.js");

export async function startServeProcess(args: string[], opts: { cwd: string; env: Record<string, string | undefined> }): Promise<{ child: ResultPromise; url: string }> {
  const child = execa("node", [BIN, "serve", "--port", "0", ...args], { cwd: opts.cwd, env: opts.env, reject: false });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /fabra serving on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void child.then((r) => reject(new Error(`serve exited early (${r.exitCode}): ${r.stderr}`)));
  });
  return { child, url };
}
