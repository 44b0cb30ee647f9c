// A bundle for the ticket (`fabra context pack <id> [--baseline ID]`): one zip an engineer attaches to an incident,
// that anyone can check later without the ledger. It holds the record's canonical text (as `export` writes it), its
// inclusion proof and the signed checkpoint (when the ledger has a log key), the linked model outcomes, a
// `summary.md` for humans, and with a baseline a `diff.patch` of the two records. `context verify --file pack.zip`
// reads it back (readPack): the record is checked as any record file, the proof as `--proof` checks it.
import { createTwoFilesPatch } from "diff";
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from "fflate";
import { FabraError, isFabraError } from "../../errors.js";
import { datetimeToMs } from "../../record/datetime.js";
import { toJsonText } from "../../record/json.js";
import type { ContextRecord } from "../../record/types.js";
import type { LogSettings, InclusionProofFile } from "./log.js";
import type { Ledger } from "./ledger.js";
import { packSummary } from "./pack-summary.js";

export const PACK_FILES = {
  record: "record.json",
  proof: "proof.json",
  checkpoint: "checkpoint.txt",
  outcomes: "outcomes.json",
  summary: "summary.md",
  diff: "diff.patch",
} as const;

/** What a pack holds once read: the record's text, and its proof when the pack has one. */
export interface ReadPack {
  recordText: string;
  proofText: string | null;
}

export interface PackOptions {
  baseline?: string;
  log: LogSettings;
}

/** The zip's bytes. Only a record that verifies is packed (as `export`); a baseline must verify too. */
export async function buildPack(ledger: Ledger, id: string, options: PackOptions): Promise<Uint8Array> {
  const { row, record } = await ledger.intact(id, "it was not packed");
  const { verification } = await ledger.verify(row.contextId);
  const baseline = options.baseline === undefined ? null : await ledger.intact(options.baseline, "it was not packed");
  const proof = await inclusionProof(ledger, options.log, row.contextId);
  const outcomes = await ledger.outcomes(row.contextId);
  // Entries dated by the record's time: the same record packs to the same bytes.
  const mtime = new Date(datetimeToMs(record.created_at));
  const files: Zippable = {
    [PACK_FILES.record]: strToU8(`${row.canonicalText}\n`),
    [PACK_FILES.summary]: strToU8(
      packSummary({
        record,
        verification,
        imported: row.imported === true,
        proof: proof.ok ? proof.proof : null,
        proofMissing: proof.ok ? null : proof.reason,
        outcomes,
        baseline: baseline?.record ?? null,
      }),
    ),
  };
  if (proof.ok) {
    files[PACK_FILES.proof] = strToU8(`${JSON.stringify(proof.proof, null, 2)}\n`);
    files[PACK_FILES.checkpoint] = strToU8(proof.proof.checkpoint);
  }
  if (outcomes.length > 0) files[PACK_FILES.outcomes] = strToU8(`${toJsonText(outcomes as never, 2)}\n`);
  if (baseline) files[PACK_FILES.diff] = strToU8(recordPatch(baseline.record, record));
  return zipSync(files, { level: 6, mtime });
}

async function inclusionProof(
  ledger: Ledger,
  log: LogSettings,
  id: string,
): Promise<{ ok: true; proof: InclusionProofFile } | { ok: false; reason: string }> {
  try {
    return { ok: true, proof: await ledger.transparencyLog(log).prove(id) };
  } catch (err) {
    // No log key, or a store without a log: the pack still carries the record (its hashes and signature).
    if (isFabraError(err)) return { ok: false, reason: `${err.message}${err.hint ? ` (${err.hint})` : ""}` };
    throw err;
  }
}

/** A unified diff of the two records (pretty JSON) and of their contents (line by line), baseline first. */
function recordPatch(baseline: ContextRecord, record: ContextRecord): string {
  const a = `a/${baseline.context_id}`;
  const b = `b/${record.context_id}`;
  const pretty = (r: ContextRecord) => `${toJsonText(r as never, 2)}\n`;
  const content = (r: ContextRecord) => (r.content.endsWith("\n") ? r.content : `${r.content}\n`);
  return (
    createTwoFilesPatch(`${a}/record.json`, `${b}/record.json`, pretty(baseline), pretty(record)) +
    createTwoFilesPatch(`${a}/content.txt`, `${b}/content.txt`, content(baseline), content(record))
  );
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** Whether these bytes are a zip (a pack) rather than a record's JSON. */
export function isZip(bytes: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * The record (and proof) of a pack; INVALID_RECORD naming what is wrong. Only those two entries are inflated, and
 * only up to `maxBytes` each (a zip says how big its entries are: a bomb is refused before it is expanded).
 */
export function readPack(bytes: Uint8Array, where: string, maxBytes: number): ReadPack {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (file) => {
        if (file.name !== PACK_FILES.record && file.name !== PACK_FILES.proof) return false;
        if (file.originalSize > maxBytes) {
          throw new FabraError(
            "PAYLOAD_TOO_LARGE",
            `${where}: ${file.name} is ${file.originalSize} bytes unpacked, over the limit of ${maxBytes}`,
            { hint: "Raise evidence.maxRecordBytes if the record is genuinely that large." },
          );
        }
        return true;
      },
    });
  } catch (err) {
    if (isFabraError(err)) throw err;
    throw new FabraError("INVALID_RECORD", `${where} is not a readable zip: ${(err as Error).message}`, {
      hint: "Use the file `fabra context pack` wrote, as it was written.",
    });
  }
  const record = entries[PACK_FILES.record];
  if (!record) {
    throw new FabraError("INVALID_RECORD", `${where} holds no ${PACK_FILES.record}`, {
      hint: "A pack written by `fabra context pack` has record.json at its top level.",
    });
  }
  const proof = entries[PACK_FILES.proof];
  return { recordText: strFromU8(record), proofText: proof ? strFromU8(proof) : null };
}
