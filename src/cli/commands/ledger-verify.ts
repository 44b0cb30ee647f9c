// `fabra ledger verify [--since CHECKPOINT_FILE] [--key VKEY]`: every record verified as `context verify --all`
// does, the log recomputed from the stored bytes, and (given a saved checkpoint) proof that the ledger now is an
// append-only extension of it. Exit 1 naming each record that was deleted, reordered, rewritten or re-signed.
import type { Command } from "commander";
import { withLedger } from "../../app/project.js";
import { loadSigner, openCheckpoint, verifierFromText } from "../../engine/ledger/log.js";
import { type NoteVerifier, verifierKeyOf } from "../../tlog/note.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { bad, ok } from "../render/format.js";
import { readTextArgument, verifierKeyArgument } from "./tlog-arguments.js";

export function registerLedgerVerify(ledger: Command): void {
  ledger
    .command("verify")
    .description(
      "Recompute the log from the stored records, verify every record, and prove it extends a trusted checkpoint",
    )
    .option("--since <checkpoint-file>", "a signed checkpoint saved earlier (e.g. by a monitor) the ledger must extend")
    .option("--key <vkey>", "the verifier key (text or a file holding it); default: the configured signer's")
    .option("--format <format>", "text | json", "text")
    .action(async (flags: { since?: string; key?: string; format?: string }, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      await withLedger(projectOptions(cmd), async (l, config) => {
        const log = l.transparencyLog(config.ledger);
        let trusted = null;
        // The trusted key: --key, else the configured signer's. It opens --since and the checkpoints fabra kept.
        const configured = (): NoteVerifier =>
          verifierFromText(verifierKeyOf(loadSigner(config.ledger)), "the configured signer key");
        let verifier: NoteVerifier | null = flags.key !== undefined ? await verifierKeyArgument(flags.key) : null;
        if (flags.since !== undefined) {
          const note = await readTextArgument(flags.since, "--since");
          verifier ??= configured();
          trusted = openCheckpoint(note, verifier, flags.since);
        } else if (!verifier && config.ledger.keyFile) {
          try {
            verifier = configured();
          } catch {
            verifier = null; // no usable key: the kept checkpoints are not checked (`ledger checkpoint` says why)
          }
        }
        // One pass: every record verified as `context verify --all` does, while its bytes are hashed for its leaf.
        const logResult = await log.verify(trusted, { verifier });
        const records = { checked: logResult.recordsChecked, failures: logResult.recordFailures };
        const problems = [
          ...records.failures.map((f) => ({
            contextId: f.contextId as string | null,
            message: `${f.failed?.name ?? "record"} mismatch (expected ${f.failed?.expected}, actual ${f.failed?.actual})`,
          })),
          ...logResult.problems,
        ];
        const root = Buffer.from(logResult.rootHash).toString("base64");
        if (format === "json") {
          print(
            JSON.stringify(
              {
                ok: problems.length === 0,
                records_checked: records.checked,
                outcomes_checked: logResult.outcomesChecked,
                tree_size: logResult.treeSize,
                root_hash: root,
                since: logResult.since
                  ? { tree_size: logResult.since.size, consistent: logResult.since.consistent }
                  : null,
                problems: problems.map((p) => ({ context_id: p.contextId, message: p.message })),
              },
              null,
              2,
            ),
          );
        } else {
          for (const p of problems) print(bad(`${p.contextId ?? "log"}: ${p.message}`));
          if (problems.length === 0) {
            print(
              ok(
                `${records.checked} records verified${logResult.outcomesChecked > 0 ? ` (and ${logResult.outcomesChecked} outcome entries)` : ""}; log of ${logResult.treeSize} leaves, root ${root}`,
              ),
            );
            if (logResult.since)
              print(
                ok(`append-only since the trusted checkpoint of ${logResult.since.size} leaves (consistency proven)`),
              );
          } else
            print(bad(`${problems.length} problem${problems.length === 1 ? "" : "s"}: the ledger FAILED verification`));
        }
        if (problems.length > 0) process.exitCode = 1;
      });
    });
}
