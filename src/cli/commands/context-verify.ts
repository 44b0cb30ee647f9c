// `fabra context verify <id> | --file <record.json> | --all`: recompute hashes; exit 0 when intact, 1 when not.
import type { Command } from "commander";
import { FabraError } from "../../errors.js";
import { withLedger } from "../../app/project.js";
import { verificationJson } from "../../api/shapes.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { bad, dim, ok } from "../render/format.js";
import { createProgress } from "../render/progress.js";
import { verificationLine } from "../render/record-view.js";
import { checkInclusionProof, type InclusionProofFile } from "../../engine/ledger/log.js";
import { outcomeCanonicalJson, type OutcomeEntry } from "../../engine/ledger/outcome.js";
import { outcomeLeafBytes } from "../../tlog/leaves.js";
import type { NoteVerifier } from "../../tlog/note.js";
import { parseProofFile } from "../../engine/ledger/proof-file.js";
import { recordToRow } from "../../engine/ledger/rows.js";
import { readTextArgument, verifierKeyArgument } from "./tlog-arguments.js";

interface VerifyFlags {
  file?: string;
  all?: boolean;
  proof?: string;
  key?: string;
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
      "verify a record file from anywhere (e.g. written by the Python implementation), or a pack (`context pack`)",
    )
    .option("--all", "verify every record in the ledger")
    .option(
      "--proof <proof.json>",
      "with --file: also check this inclusion proof (`context prove`), offline; alone: an outcome entry's proof",
    )
    .option("--key <vkey>", "with --proof or a pack: the log's verifier key (text or a file holding it)")
    .option("--format <format>", "text | json", "text")
    .action(async (id: string | undefined, flags: VerifyFlags, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      const chosen = [id !== undefined, flags.file !== undefined, flags.all === true].filter(Boolean).length;
      // An outcome entry's proof carries the entry: `--proof` alone checks it.
      if (chosen === 0 && flags.proof !== undefined) return verifyWithProof(cmd, flags, format);
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
      if (flags.proof !== undefined || flags.key !== undefined) return verifyWithProof(cmd, flags, format);
      // A file from anywhere is verified with the project's signing settings too (outside a project: the defaults
      // and FABRA_SIGNATURE_MODE); the ledger's store is not opened for it.
      const file = flags.file;
      // A ledger row says whether it was imported (never a record this deployment produced); a file says nothing.
      const { result, imported, proofText } = await withLedger(projectOptions(cmd), async (ledger) => {
        if (file !== undefined) {
          const { verification, proofText } = await ledger.verifyFile(file);
          return { result: verification, imported: undefined, proofText };
        }
        const { row, verification } = await ledger.verify(id as string);
        return { result: verification, imported: row.imported === true, proofText: null };
      });
      if (format === "json")
        print(
          JSON.stringify({ ...verificationJson(result), ...(imported === undefined ? {} : { imported }) }, null, 2),
        );
      else {
        print(`${result.contextId}\n${verificationLine(result, { imported })}`);
        if (proofText !== null)
          print(dim("this pack carries an inclusion proof: add --key <the log's verifier key> to check it too"));
      }
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

/**
 * `--file rec.json --proof proof.json --key VKEY` (or `--file pack.zip --key VKEY`, the pack's own proof): the record
 * verified, then its inclusion under the signed checkpoint.
 */
async function verifyWithProof(cmd: Command, flags: VerifyFlags, format: "text" | "json"): Promise<void> {
  const { file, proof: proofPath, key } = flags;
  if (proofPath !== undefined && key !== undefined && file === undefined) {
    const proof = parseProofFile(await readTextArgument(proofPath, "--proof"), proofPath);
    if (proof.outcome_id !== undefined) return verifyOutcomeProof(proof, await verifierKeyArgument(key), format);
  }
  if (file === undefined || key === undefined)
    throw new FabraError(
      "INVALID_ARGUMENT",
      "--proof and --key go with --file: a record file and its proof, or a pack",
      {
        hint: "e.g. fabra context verify --file rec.json --proof proof.json --key 'fabra/app/production+1a2b3c4d+AV...'  |  fabra context verify --file pack.zip --key ... (an outcome entry's proof needs only --proof and --key)",
      },
    );
  const verifier = await verifierKeyArgument(key);
  const { record, verification, proofText } = await withLedger(projectOptions(cmd), (ledger) =>
    ledger.verifyFile(file),
  );
  const text = proofPath !== undefined ? await readTextArgument(proofPath, "--proof") : proofText;
  if (text === null)
    throw new FabraError("INVALID_ARGUMENT", `${file} carries no inclusion proof, and no --proof was given`, {
      hint: "Give the proof `fabra context prove` wrote (--proof proof.json), or pack the record on a ledger with a log key (fabra ledger keygen).",
    });
  const proof = parseProofFile(text, proofPath ?? `the proof in ${file}`);
  if (proof.outcome_id !== undefined)
    throw new FabraError("INVALID_ARGUMENT", `${proofPath ?? file} proves an outcome entry, not a record`, {
      hint: "Check it with --proof and --key alone: the proof carries the entry.",
    });
  const inclusion = verification.ok
    ? checkInclusionProof(proof, Buffer.from(recordToRow(record).canonicalText, "utf8"), record.context_id, verifier)
    : { ok: false, reason: "the record itself does not verify" };
  const okAll = verification.ok && inclusion.ok;
  if (format === "json")
    print(
      JSON.stringify(
        {
          ...verificationJson(verification),
          inclusion: {
            ok: inclusion.ok,
            leaf_index: proof.leaf_index,
            tree_size: proof.tree_size,
            ...(inclusion.ok ? {} : { reason: inclusion.reason }),
          },
        },
        null,
        2,
      ),
    );
  else {
    print(`${verification.contextId}\n${verificationLine(verification)}`);
    print(
      inclusion.ok
        ? ok(`in the log: leaf ${proof.leaf_index} of ${proof.tree_size}, under a checkpoint signed by the given key`)
        : bad(`inclusion proof FAILED: ${inclusion.reason}`),
    );
  }
  if (!okAll) process.exitCode = 1;
}

/** `--proof outcome-proof.json --key VKEY`: the entry in the proof is canonical and its own, and the path leads to the root. */
function verifyOutcomeProof(proof: InclusionProofFile, verifier: NoteVerifier, format: "text" | "json"): void {
  const entryText = proof.entry as string;
  let reason: string | undefined;
  try {
    const entry = JSON.parse(entryText) as OutcomeEntry;
    if (outcomeCanonicalJson(entry) !== entryText) reason = "the entry is not in canonical form";
    else if (entry.outcome_id !== proof.outcome_id || entry.context_id !== proof.context_id)
      reason = `the entry is ${entry.outcome_id} of ${entry.context_id}, the proof says ${proof.outcome_id} of ${proof.context_id}`;
  } catch (err) {
    reason = `the entry is not JSON: ${(err as Error).message}`;
  }
  const inclusion = reason
    ? { ok: false, reason }
    : checkInclusionProof(proof, outcomeLeafBytes(entryText), proof.context_id, verifier);
  if (format === "json")
    print(
      JSON.stringify(
        {
          outcome_id: proof.outcome_id,
          context_id: proof.context_id,
          inclusion: {
            ok: inclusion.ok,
            leaf_index: proof.leaf_index,
            tree_size: proof.tree_size,
            ...(inclusion.ok ? {} : { reason: inclusion.reason }),
          },
        },
        null,
        2,
      ),
    );
  else {
    print(`${proof.outcome_id} (outcome of ${proof.context_id})`);
    print(
      inclusion.ok
        ? ok(`in the log: leaf ${proof.leaf_index} of ${proof.tree_size}, under a checkpoint signed by the given key`)
        : bad(`inclusion proof FAILED: ${inclusion.reason}`),
    );
  }
  if (!inclusion.ok) process.exitCode = 1;
}
