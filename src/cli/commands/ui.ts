// `fabra ui [--port 0] [--host 127.0.0.1]`: the record viewer on this machine. It is `fabra serve` without the
// refresh scheduler, announcing the viewer's URL; it opens no browser (open the printed URL yourself).
import type { Command } from "commander";
import { runServer } from "../../server/run.js";
import { projectOptions } from "../options.js";
import { parsePort } from "./serve.js";

interface UiFlags {
  port: string;
  host: string;
}

export function registerUi(program: Command): void {
  program
    .command("ui")
    .description("Browse, verify, compare and replay context records in the browser (prints the URL; opens nothing)")
    .option("-p, --port <port>", "port to listen on (0 picks a free port)", "0")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .action(async (flags: UiFlags, cmd: Command) => {
      await runServer({
        ...projectOptions(cmd),
        port: parsePort(flags.port),
        host: flags.host,
        scheduler: false,
        viewer: true,
      });
    });
}
