// The Ledger: the one owner of the record store and of how records are verified (the signing mode and key, resolved
// once from config + env). Every `context` command, the demo, the /v1/contexts and /v1/ledger routes, replay and
// assembly's append go through it; nothing else builds verify options.
import { FabraError } from "../../errors.js";
import { normalizeContextId, requireNormalContextId } from "../../record/id.js";
import { readRecordText } from "../../record/verify.js";
import type { SignatureMode, SigningKey } from "../../record/sign.js";
import type { UnsignedCutoff } from "../../record/unsigned-cutoff.js";
import type { ContextRecord } from "../../record/types.js";
import type { VerifyOptions, VerifyResult } from "../../record/verify.js";
import type { AppendOutcome, LedgerRow, RecordFilter, RecordStore } from "../../stores/types.js";
import { compareRecords, type Comparison, type VerifiedRecord } from "./compare.js";
import { importRecordFiles, type ImportOutcome } from "./import.js";
import { DEFAULT_MAX_RECORD_BYTES, readRecordFile, recordTooLarge } from "./record-files.js";
import { parseLedgerRef, showLedgerRef } from "./record-ref.js";
import { recordToRow, rowToRecord } from "./rows.js";
import { verificationError } from "./verification-error.js";
import { verifyLedger, verifyLedgerRow, type LedgerVerification } from "./verify-rows.js";
import { outcomeToRow, rowToOutcome, type OutcomeEntry } from "./outcome.js";
import { type LogSettings, TransparencyLog } from "./log.js";
import { LogSequencer } from "./sequencer.js";

export type { Comparison, ImportOutcome, LedgerVerification, VerifiedRecord };

/** A record to compare: by id from the ledger, or a record file from anywhere. */
export type RecordRef = { id: string } | { file: string };

export interface LedgerSource {
  /**
   * The store, asked for on every use: the runtime hands over whatever `stores.records` is now (the server wraps it
   * for metrics); a ledger-only command opens it on first use, so verifying files never opens it.
   */
  records: () => RecordStore | Promise<RecordStore>;
  /** The signing mode and keys, asked for once, at the first verification (a key that does not parse fails there). */
  signing: () => {
    mode: SignatureMode;
    key: SigningKey | null;
    /** Every verification key (rotation); `key` is one of them. */
    keys?: SigningKey[];
    /** Unsigned records accepted although a key is configured. */
    acceptUnsigned?: UnsignedCutoff | null;
  };
  /** The largest record read from a file (config evidence.maxRecordBytes; default 64 MiB). */
  maxRecordBytes?: number;
}

export class Ledger {
  private options: VerifyOptions | null = null;
  private sequencer: LogSequencer | null = null;

  constructor(private readonly source: LedgerSource) {}

  /** The largest record this ledger reads from a file or accepts as canonical text. */
  get maxRecordBytes(): number {
    return this.source.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  /**
   * The options every verification of this ledger uses. With a signing key configured (and signing not off), an
   * unsigned record fails unless the operator's cutoff accepts it: a stripped signature is not a pass.
   */
  get verifyOptions(): VerifyOptions {
    if (!this.options) {
      const { mode, key, keys = [], acceptUnsigned = null } = this.source.signing();
      const anyKey = key !== null || keys.length > 0;
      this.options = {
        signingKey: key,
        signingKeys: keys,
        requireSignature: mode === "required" || (mode !== "off" && anyKey),
        acceptUnsigned,
      };
    }
    return this.options;
  }

  private async store(): Promise<RecordStore> {
    return this.source.records();
  }

  /**
   * The row filed under `id` (a context id, its bare UUID, or a `sha256:` record hash looked up through the store's
   * record_hash index); RECORD_NOT_FOUND when there is none.
   */
  async row(id: string): Promise<LedgerRow> {
    const ref = parseLedgerRef(id);
    const store = await this.store();
    const row = "recordHash" in ref ? await store.getByHash(ref.recordHash) : await store.get(ref.contextId);
    if (!row) {
      throw new FabraError("RECORD_NOT_FOUND", `No context record ${showLedgerRef(ref)} in the ledger`, {
        hint: "`fabra context list` shows the records there; check FABRA_DUCKDB_PATH / --config point at the right ledger.",
      });
    }
    return row;
  }

  /** The row with its record parsed (strictly). */
  async get(id: string): Promise<{ row: LedgerRow; record: ContextRecord }> {
    const row = await this.row(id);
    return { row, record: rowToRecord(row) };
  }

  async list(filter?: RecordFilter): Promise<LedgerRow[]> {
    return (await this.store()).list(filter);
  }

  async count(filter?: Parameters<RecordStore["count"]>[0]): Promise<number> {
    return (await this.store()).count(filter);
  }

  /**
   * Integrates appended records into the transparency log in the background from now on (`fabra serve`): after each
   * append, and whenever `integrateSoon()` is called. Returns the sequencer (its idle() is awaited at shutdown).
   */
  integrateInBackground(onError: (err: unknown) => void): LogSequencer {
    this.sequencer ??= new LogSequencer(async () => (await this.store()).integrateLog?.(), onError);
    return this.sequencer;
  }

  /** The transparency log over this ledger's store (spec/TLOG-001.md). */
  transparencyLog(settings: LogSettings): TransparencyLog {
    return new TransparencyLog(
      () => this.store(),
      settings,
      () => this.verifyOptions,
    );
  }

  /** Verifies a row as stored (see verifyLedgerRow). */
  verifyRow(row: LedgerRow): VerifyResult {
    return verifyLedgerRow(row, this.verifyOptions);
  }

  /** The row filed under `id` with its verification (never parsed otherwise: a row that does not parse fails). */
  async verify(id: string): Promise<{ row: LedgerRow; verification: VerifyResult }> {
    const row = await this.row(id);
    return { row, verification: this.verifyRow(row) };
  }

  /** The record filed under `id` (parsed) with its verification, for showing and comparing it. */
  async getVerified(id: string): Promise<VerifiedRecord & { row: LedgerRow }> {
    const { row, verification } = await this.verify(id);
    return { row, record: rowToRecord(row), verification };
  }

  /** Every row of the ledger; `progress` hears the count after each batch. */
  async verifyAll(progress?: (checked: number) => void): Promise<LedgerVerification> {
    return verifyLedger(await this.store(), this.verifyOptions, progress);
  }

  /**
   * A record file from anywhere (an export, another implementation, a pack) with its verification; `proofText` is
   * the inclusion proof a pack carries (null for a plain record file).
   */
  async verifyFile(path: string): Promise<VerifiedRecord & { proofText: string | null }> {
    const { record, result, proofText } = await readRecordFile(path, this.verifyOptions, this.maxRecordBytes);
    return { record, verification: result, proofText };
  }

  /** The record filed under `id` when it verifies; VERIFICATION_FAILED saying what did not happen (`consequence`). */
  async intact(id: string, consequence: string): Promise<{ row: LedgerRow; record: ContextRecord }> {
    const { row, verification } = await this.verify(id);
    if (!verification.ok) throw verificationError(verification, `Record ${row.contextId}`, consequence);
    return { row, record: rowToRecord(row) };
  }

  /** The canonical text of a record that verifies, as `context export` writes it. */
  async export(id: string): Promise<LedgerRow> {
    return (await this.intact(id, "it was not exported")).row;
  }

  /** Imports record files, all or nothing (see importRecordFiles). */
  async import(files: string[]): Promise<ImportOutcome[]> {
    const verifyOptions = this.verifyOptions;
    return importRecordFiles(await this.store(), files, verifyOptions, this.maxRecordBytes);
  }

  /** Both records verified, then diffed. */
  async diff(a: RecordRef, b: RecordRef): Promise<Comparison> {
    const [ra, rb] = await Promise.all([this.load(a), this.load(b)]);
    return compareRecords(ra, rb);
  }

  private load(ref: RecordRef): Promise<VerifiedRecord> {
    return "file" in ref ? this.verifyFile(ref.file) : this.getVerified(ref.id);
  }

  /**
   * Appends a record just sealed (assembly, replay), with its canonical text when the sealing built it. Appends in
   * flight share the store's commits (group commit); this resolves once the record's commit is durable. A record
   * over the size limit (which no reader would take back) fails alone, before it joins a commit.
   */
  async append(record: ContextRecord, canonicalText?: string): Promise<AppendOutcome> {
    requireNormalContextId(record.context_id, "append");
    const row = recordToRow(record, canonicalText);
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most records skip the exact count.
    if (row.canonicalText.length * 3 > this.maxRecordBytes) {
      const bytes = Buffer.byteLength(row.canonicalText, "utf8");
      if (bytes > this.maxRecordBytes)
        throw recordTooLarge(`Record ${record.context_id}`, bytes, this.maxRecordBytes, "it was not appended");
    }
    const outcome = await (await this.store()).append(row);
    if (outcome === "inserted") this.sequencer?.schedule();
    return outcome;
  }

  /**
   * Appends a record sent as canonical text (POST /v1/ledger/rows, which only `fabra context ...` beside the server
   * that holds the ledger file may use): it must be in CRS-001 canonical form and verify, else nothing is appended.
   * `imported` marks a record `fabra context import` brought in.
   */
  async appendCanonical(
    text: string,
    source: string,
    options: { imported?: boolean } = {},
  ): Promise<{ contextId: string; outcome: AppendOutcome }> {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > this.maxRecordBytes) throw recordTooLarge(source, bytes, this.maxRecordBytes, "it was not appended");
    const record = readRecordText(text, source);
    const row = recordToRow(record);
    if (row.canonicalText !== text) {
      throw new FabraError("INVALID_RECORD", `${source} of ${record.context_id} is not in CRS-001 canonical form`, {
        hint: "Send the record as `fabra context export` writes it.",
      });
    }
    requireNormalContextId(record.context_id, source);
    const verification = this.verifyRow(row);
    if (!verification.ok) throw verificationError(verification, record.context_id, "not appended");
    const outcome = await (await this.store()).append(options.imported ? { ...row, imported: true } : row);
    if (outcome === "inserted") this.sequencer?.schedule();
    return { contextId: row.contextId, outcome };
  }

  /** Appends an outcome entry for a record in this ledger (RECORD_NOT_FOUND when there is none). */
  async appendOutcome(entry: OutcomeEntry): Promise<OutcomeEntry> {
    const store = await this.store();
    if (!store.appendOutcome) throw noOutcomes();
    await this.row(entry.context_id);
    await store.appendOutcome(outcomeToRow(entry));
    return entry;
  }

  /** The outcome entries linked to the record filed under `id`, oldest first, each checked against its hash. */
  async outcomes(id: string): Promise<OutcomeEntry[]> {
    const contextId = normalizeContextId(id);
    const store = await this.store();
    if (!store.listOutcomes) return [];
    return (await store.listOutcomes(contextId)).map(rowToOutcome);
  }
}

function noOutcomes(): FabraError {
  return new FabraError("INVALID_ARGUMENT", "This ledger store keeps no outcome entries", {
    hint: "Outcomes are written by a runtime over the DuckDB or Postgres ledger (createFabra), or sent to a running server with POST /v1/contexts/:id/outcomes.",
  });
}
