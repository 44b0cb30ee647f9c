// `fabra context verify <id> | --file <record.json> | --all`: recompute hashes; exit 0 when intact, 1 when not.
import type { Command } from "commander";
import { FabraError } from "../../errors.js";
import { withLedger } from "../../app/project.js";
import { verificationJson } from "../../api/shapes.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { bad, ok } from "../render/format.js";
import { createProgress } from "../render/progress.js";
import { verificationLine } from "../render/record-view.js";

interface VerifyFlags {
  file?: string;
  all?: boolean;
  format?: string;
}

export function registerContextVerify(context: Command): void {
  context
    .command("verify [id]")
    .description(
      "Verify a record's hashes and signature (with the configured keys); exit 1 if altered, or unsigned while signing is on",
    )
    .option(
      "-f, --file <record.json>",
      "verify a record file from anywhere (e.g. written by the Python implementation)",
    )
    .option("--all", "verify every record in the ledger")
    .option("--format <format>", "text | json", "text")
    .action(async (id: string | undefined, flags: VerifyFlags, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      const chosen = [id !== undefined, flags.file !== undefined, flags.all === true].filter(Boolean).length;
      if (chosen !== 1) {
        throw new FabraError(
          "INVALID_ARGUMENT",
          `Give exactly one thing to verify (${chosen === 0 ? "none was given" : `${chosen} were given`}): a context id, --file <record.json>, or --all`,
          {
            hint: "e.g. fabra context verify ctx_0190a1b2-...  |  fabra context verify --file record.json  |  fabra context verify --all",
          },
        );
      }
      if (flags.all) return verifyAll(cmd, format);
      // A file from anywhere is verified with the project's signing settings too (outside a project: the defaults
      // and FABRA_SIGNATURE_MODE); the ledger's store is not opened for it.
      const file = flags.file;
      // A ledger row says whether it was imported (never a record this deployment produced); a file says nothing.
      const { result, imported } = await withLedger(projectOptions(cmd), async (ledger) => {
        if (file !== undefined) return { result: (await ledger.verifyFile(file)).verification, imported: undefined };
        const { row, verification } = await ledger.verify(id as string);
        return { result: verification, imported: row.imported === true };
      });
      if (format === "json")
        print(
          JSON.stringify({ ...verificationJson(result), ...(imported === undefined ? {} : { imported }) }, null, 2),
        );
      else print(`${result.contextId}\n${verificationLine(result, { imported })}`);
      if (!result.ok) process.exitCode = 1;
    });
}

async function verifyAll(cmd: Command, format: "text" | "json"): Promise<void> {
  await withLedger(projectOptions(cmd), async (ledger) => {
    const total = await ledger.count();
    const progress = format === "text" ? createProgress("verifying", total) : null;
    const started = performance.now();
    const { checked, failures } = await ledger.verifyAll((n) => progress?.update(n));
    progress?.done();
    const seconds = (performance.now() - started) / 1000;
    if (format === "json") {
      print(
        JSON.stringify(
          { checked, ok: checked - failures.length, failed: failures.length, failures: failures.map(verificationJson) },
          null,
          2,
        ),
      );
    } else {
      for (const f of failures)
        print(
          bad(
            `${f.contextId}: ${f.failed?.name} mismatch (expected ${f.failed?.expected}, actual ${f.failed?.actual})`,
          ),
        );
      const rate = seconds > 0 ? ` in ${seconds.toFixed(2)}s (${Math.round(checked / seconds)}/s)` : "";
      const records = (n: number) => `${n} record${n === 1 ? "" : "s"}`;
      print(
        failures.length === 0
          ? ok(`${records(checked)} verified${rate}`)
          : bad(`${failures.length} of ${records(checked)} FAILED verification${rate}`),
      );
    }
    if (failures.length > 0) process.exitCode = 1;
  });
}
