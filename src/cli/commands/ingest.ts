// `fabra ingest dead-letter [--retry] [--limit n]`: the ingested events set aside (malformed, or failed too often),
// oldest first with the reason, and `--retry` to put them back on their streams. Works on the Redis event streams
// (production); in local mode the in-process queue lives in `fabra serve`, whose HTTP API has the same list.
import type { Command } from "commander";
import { withFabra } from "../../app/project.js";
import { FabraError } from "../../errors.js";
import { toJsonText } from "../../record/json.js";
import { deadLetterJson } from "../../api/ingest.js";
import { outputFormat, parsePositiveInt, print, projectOptions } from "../options.js";

const FORMATS = ["text", "json"] as const;

export function registerIngestCommands(program: Command): void {
  const ingest = program
    .command("ingest")
    .description("Inspect ingested events (POST /v1/ingest/{event}): the dead-letter list");
  ingest
    .command("dead-letter")
    .description(
      "List ingested events set aside (malformed, or failed too often) with the reason; --retry puts them back",
    )
    .option("--retry", "put every listed dead letter back on its stream (recomputed again)")
    .option("--limit <n>", "most dead letters listed (and retried)", "100")
    .option("--format <format>", "text | json")
    .option("--json", "the same as --format json")
    .action(async (flags: { retry?: boolean; limit?: string; format?: string; json?: boolean }, cmd: Command) => {
      const format = outputFormat(flags, FORMATS, "text");
      const limit = parsePositiveInt(flags.limit ?? "100", "--limit");
      await withFabra(projectOptions(cmd), async (fabra) => {
        const events = fabra.stores.events;
        if (!events.capabilities.sharedAcrossProcesses)
          throw new FabraError(
            "INVALID_ARGUMENT",
            "In local mode ingested events are queued inside `fabra serve`, so its dead letters are there, not in this process",
            {
              hint: "Ask the server: GET /v1/ingest/dead-letter, and POST /v1/ingest/dead-letter/retry. With the redis online store this command reads the streams itself.",
            },
          );
        const letters = await events.deadLetters(limit);
        const retried = flags.retry && letters.length > 0 ? await events.retryDeadLetters(letters.map((d) => d.id)) : 0;
        if (format === "json") {
          print(toJsonText({ dead_letters: letters.map(deadLetterJson), ...(flags.retry ? { retried } : {}) }, 2));
          return;
        }
        if (letters.length === 0) {
          print("No dead letters.");
          return;
        }
        for (const d of letters)
          print(
            `${d.id}  ${d.eventType}  entry ${d.entryId}  ${d.failedAt}  (${d.deliveries} deliveries)\n  ${d.reason}`,
          );
        if (flags.retry) {
          const kept = letters.length - retried;
          print(
            `Retried ${retried} of ${letters.length}${kept > 0 ? `; ${kept} without data (trimmed from their stream) cannot be retried` : ""}.`,
          );
        } else {
          print(
            `${letters.length} dead letter${letters.length === 1 ? "" : "s"}; --retry puts them back on their streams.`,
          );
        }
      });
    });
}
