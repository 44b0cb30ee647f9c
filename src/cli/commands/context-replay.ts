// `fabra context replay <id> [--live] [--format text|json]`: re-run a record's context function with its recorded
// inputs (recorded features and chunks, or today's with --live), write the new record, show the diff.
// While a `fabra serve` holds the local ledger, the replay runs in that server.
import type { Command } from "commander";
import { replayJson, type ReplayJson } from "../../api/contexts.js";
import { replayContext } from "../../engine/context/replay.js";
import { withFabraOrServer } from "../../app/project.js";
import { normalizeContextId } from "../../record/id.js";
import { toJsonText } from "../../record/json.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { renderReplay } from "../render/replay-view.js";

export function registerContextReplay(context: Command): void {
  context
    .command("replay <id>")
    .description(
      "Re-run a record's context function with its recorded inputs and show what changed (a new record links to it)",
    )
    .option("--live", "use today's features and a fresh retrieval instead of the recorded ones")
    .option("--format <format>", "text | json", "text")
    .action(async (id: string, flags: { live?: boolean; format?: string }, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      const contextId = normalizeContextId(id);
      const live = flags.live === true;
      const result = await withFabraOrServer<ReplayJson>(
        projectOptions(cmd),
        async (fabra) => replayJson(await replayContext(fabra, contextId, { live })),
        (server) => server.replay(contextId, live),
      );
      print(format === "json" ? toJsonText(result, 2) : renderReplay(result));
    });
}
