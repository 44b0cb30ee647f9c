// Starting a worker thread whose entry module sits beside the module starting it. From the build (`.js`) the file
// itself; from TypeScript sources (tests) it is loaded through jiti. It runs with the process's node options except
// --input-type (a process started by `node --input-type=module -e` passes it on, and a worker given a file then
// fails to start), and with none of them when the process has a flag a worker may not take (e.g. --expose-gc).
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/** Starts `./<name><ext>` beside the module at `besideUrl` (its import.meta.url) with `workerData`; throws if not. */
export function startWorkerBeside(besideUrl: string, name: string, workerData: unknown): Worker {
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--input-type"));
  try {
    return start(besideUrl, name, workerData, execArgv);
  } catch (err) {
    if ((err as { code?: string }).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw err;
    return start(besideUrl, name, workerData, []);
  }
}

function start(besideUrl: string, name: string, workerData: unknown, execArgv: string[]): Worker {
  const ext = extname(fileURLToPath(besideUrl));
  const entry = new URL(`./${name}${ext}`, besideUrl);
  if (ext === ".js") return new Worker(entry, { workerData, execArgv });
  const file = JSON.stringify(fileURLToPath(entry));
  const boot = `require("node:module").createRequire(${file})("jiti").createJiti(${file}).import(${file})`;
  return new Worker(boot, { eval: true, workerData, execArgv });
}
