// The transparency log over the ledger (spec/TLOG-001.md): integrate pending records, sign checkpoints, prove a
// record's inclusion, and check the whole log from the stored bytes against a trusted checkpoint.
import { readFileSync } from "node:fs";
import { FabraError } from "../../errors.js";
import { normalizeContextId } from "../../record/id.js";
import { type Checkpoint, formatCheckpoint, parseCheckpoint } from "../../tlog/checkpoint.js";
import {
  consistencyProof,
  EMPTY_TREE_HASH,
  equalHashes,
  inclusionProof,
  leafHash,
  nodeHash,
  treeHash,
  verifyConsistency,
  verifyInclusion,
} from "../../tlog/merkle.js";
import {
  type NoteSigner,
  type NoteVerifier,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from "../../tlog/note.js";
import type { RecordStore } from "../../stores/types.js";
import { leafKind, outcomeLeafBytes } from "../../tlog/leaves.js";
import type { VerifyOptions, VerifyResult } from "../../record/verify.js";
import { rowToOutcome } from "./outcome.js";
import { verifyRows } from "./verify-rows.js";

/** The proof file of `fabra context prove` (TLOG-001 §Proof file). */
export interface InclusionProofFile {
  format: "fabra-tlog-inclusion-proof/v1";
  /** The record proven, or (for an outcome entry's proof) the record the outcome is linked to. */
  context_id: string;
  /** Present for an outcome entry's proof: which entry, and its canonical JSON (the leaf is the prefix + this). */
  outcome_id?: string;
  entry?: string;
  leaf_index: number;
  tree_size: number;
  /** The RFC 6962 audit path, leaf to root, base64. */
  hashes: string[];
  /** The signed checkpoint (C2SP signed note) whose root the path leads to. */
  checkpoint: string;
}

export interface SignedCheckpoint {
  note: string;
  checkpoint: Checkpoint;
}

/** What `ledger verify` found; `problems` name the records (or outcome entries) that failed, where one is known. */
export interface LogVerification {
  treeSize: number;
  rootHash: Uint8Array;
  /** Records read and verified (as `context verify --all` does), and outcome entries read. */
  recordsChecked: number;
  outcomesChecked: number;
  /** The records that failed their own verification, oldest first (the same results `verify --all` gives). */
  recordFailures: VerifyResult[];
  problems: { contextId: string | null; message: string }[];
  since: { size: number; consistent: boolean } | null;
}

export interface LogSettings {
  origin: string;
  keyFile: string | null;
}

function logMethods(store: RecordStore) {
  const { integrateLog, logSize, readLogNodes, logLeafIndex, scanLogIndex } = store;
  if (!integrateLog || !logSize || !readLogNodes || !logLeafIndex || !scanLogIndex)
    throw new FabraError("INVALID_ARGUMENT", "This ledger store keeps no transparency log", {
      hint: "Run the ledger command where the DuckDB file or Postgres database is (not through a running server).",
    });
  return {
    integrate: () => integrateLog.call(store),
    size: () => logSize.call(store),
    read: (keys: Parameters<typeof readLogNodes>[0]) => readLogNodes.call(store, keys),
    /** Through the tiles where the store keeps them: for inclusion proofs only. */
    readForProof: (keys: Parameters<typeof readLogNodes>[0]) =>
      (store.readLogProofNodes ?? readLogNodes).call(store, keys),
    leafIndex: (id: string) => logLeafIndex.call(store, id),
    index: (n?: number) => scanLogIndex.call(store, n),
  };
}

/** Reads the signer key file named by ledger.keyFile / FABRA_LEDGER_KEY_FILE. */
export function loadSigner(settings: LogSettings): NoteSigner {
  if (!settings.keyFile)
    throw new FabraError("INVALID_CONFIG", "No checkpoint signer key is configured", {
      hint: "Run `fabra ledger keygen -o ledger.key`, then set ledger.keyFile in the config or FABRA_LEDGER_KEY_FILE.",
    });
  let text: string;
  try {
    text = readFileSync(settings.keyFile, "utf8");
  } catch {
    throw new FabraError("FILE_UNREADABLE", `Cannot read the checkpoint signer key ${settings.keyFile}`, {
      hint: "Check ledger.keyFile / FABRA_LEDGER_KEY_FILE points at the file `fabra ledger keygen` wrote.",
    });
  }
  try {
    return parseSignerKey(text);
  } catch (err) {
    throw new FabraError("INVALID_CONFIG", `${settings.keyFile} is not a signer key: ${(err as Error).message}`, {
      hint: "The file holds one line PRIVATE+KEY+<name>+<hash>+<base64>, as `fabra ledger keygen` writes it.",
    });
  }
}

export function verifierFromText(text: string, where: string): NoteVerifier {
  try {
    return parseVerifierKey(text);
  } catch (err) {
    throw new FabraError("INVALID_ARGUMENT", `${where} is not a verifier key: ${(err as Error).message}`, {
      hint: "Give the verifier key `fabra ledger keygen` printed: <name>+<8 hex>+<base64>.",
    });
  }
}

/** Opens a signed checkpoint with the verifier key; VERIFICATION_FAILED when the signature or text is wrong. */
export function openCheckpoint(note: string, verifier: NoteVerifier, where: string): Checkpoint {
  try {
    return parseCheckpoint(openNote(note, [verifier]).text);
  } catch (err) {
    throw new FabraError("VERIFICATION_FAILED", `${where}: ${(err as Error).message}`, {
      hint: "Check the checkpoint was signed by the key you gave (`--key`), and that the file is unaltered.",
    });
  }
}

export class TransparencyLog {
  constructor(
    private readonly store: () => Promise<RecordStore>,
    private readonly settings: LogSettings,
    /** How records are verified (the Ledger's options: signing mode, keys, accepted unsigned records). */
    private readonly verifyOptions: () => VerifyOptions = () => ({}),
  ) {}

  private async log() {
    return logMethods(await this.store());
  }

  /** The sequencer step (see RecordStore.integrateLog); returns the tree size. */
  async integrate(): Promise<number> {
    return (await this.log()).integrate();
  }

  /** The current signed tree head, after integrating pending records. */
  async checkpoint(signer: NoteSigner = loadSigner(this.settings)): Promise<SignedCheckpoint> {
    const log = await this.log();
    const size = await log.integrate();
    const checkpoint: Checkpoint = {
      origin: this.settings.origin,
      size,
      rootHash: await treeHash(size, log.read),
      extensions: [],
    };
    const note = signNote(formatCheckpoint(checkpoint), [signer]);
    // Kept beside the log: after a rebuild of the log tables, `ledger verify` brackets the change between the
    // checkpoints fabra signed (they cannot be forged without the key).
    await (await this.store()).saveLogCheckpoint?.(size, note);
    return { note, checkpoint };
  }

  /** The RFC 6962 consistency proof from the tree of `from` leaves to the tree of `to` (INVALID_ARGUMENT if from > to). */
  async consistency(from: number, to: number): Promise<Uint8Array[]> {
    if (from > to)
      throw new FabraError("INVALID_ARGUMENT", `since=${from} is larger than the tree (${to} leaves)`, {
        hint: "Give the tree size of a checkpoint you saved from this log.",
      });
    return consistencyProof(from, to, (await this.log()).read);
  }

  /** The leaf index of an entry and its audit path in the tree of `size` leaves (RECORD_NOT_FOUND if it has none). */
  async inclusion(id: string, size: number): Promise<{ index: number; hashes: Uint8Array[] }> {
    const log = await this.log();
    const index = await log.leafIndex(id);
    if (index === null || index >= size)
      throw new FabraError(
        "RECORD_NOT_FOUND",
        `No ${leafKind(id) === "outcome" ? "outcome entry" : "context record"} ${id} in the transparency log`,
        { hint: "`fabra context list` shows the records in the ledger; `fabra context show <id>` their outcomes." },
      );
    return { index, hashes: await inclusionProof(index, size, log.readForProof) };
  }

  /** An offline inclusion proof of the record under a fresh signed checkpoint. */
  async prove(id: string, signer: NoteSigner = loadSigner(this.settings)): Promise<InclusionProofFile> {
    const contextId = normalizeContextId(id);
    const { note, checkpoint } = await this.checkpoint(signer);
    const { index, hashes } = await this.inclusion(contextId, checkpoint.size);
    return {
      format: "fabra-tlog-inclusion-proof/v1",
      context_id: contextId,
      leaf_index: index,
      tree_size: checkpoint.size,
      hashes: hashes.map((h) => Buffer.from(h).toString("base64")),
      checkpoint: note,
    };
  }

  /** An offline inclusion proof of an outcome entry of the record `id` (the proof carries the entry's JSON). */
  async proveOutcome(
    id: string,
    outcomeId: string,
    signer: NoteSigner = loadSigner(this.settings),
  ): Promise<InclusionProofFile> {
    const contextId = normalizeContextId(id);
    const store = await this.store();
    const row = (await store.listOutcomes?.(contextId))?.find((o) => o.outcomeId === outcomeId);
    if (!row)
      throw new FabraError("RECORD_NOT_FOUND", `No outcome entry ${outcomeId} linked to ${contextId}`, {
        hint: "`fabra context show <id>` lists a record's outcome entries with their ids.",
      });
    rowToOutcome(row); // an entry that no longer matches its hash is not proven
    const { note, checkpoint } = await this.checkpoint(signer);
    const { index, hashes } = await this.inclusion(outcomeId, checkpoint.size);
    return {
      format: "fabra-tlog-inclusion-proof/v1",
      context_id: contextId,
      outcome_id: outcomeId,
      entry: row.canonicalText,
      leaf_index: index,
      tree_size: checkpoint.size,
      hashes: hashes.map((h) => Buffer.from(h).toString("base64")),
      checkpoint: note,
    };
  }

  /**
   * `ledger verify`, in one pass over the stored bytes: every record's bytes are hashed for its leaf and verified as
   * `verify --all` does in the same pass, every outcome entry's against its hash; then the tree is recomputed in leaf
   * order from those hashes. Every leaf must still have its entry with the bytes it was integrated with (a leaf whose
   * bytes moved to another leaf was reordered; one whose entry is gone was deleted; other bytes were rewritten); every
   * entry must be in the log; the stored subtree hashes must give the same root; and, given a trusted checkpoint, its
   * first `size` leaves must hash to its root (and a consistency proof from the stored tree must check).
   */
  async verify(
    trusted: Checkpoint | null,
    options: {
      verifier?: NoteVerifier | null;
      progress?: (checked: number) => void;
      /** Worker threads verifying the records (verifyRows' default: one per core on a large ledger; 0: none). */
      threads?: number;
    } = {},
  ): Promise<LogVerification> {
    const { progress, threads } = options;
    const store = await this.store();
    const log = logMethods(store);
    const opts = this.verifyOptions();
    const size = await log.integrate();
    const problems: LogVerification["problems"] = [];

    // The leaf table: which entry is leaf i, and the leaf hash stored for it.
    const ids: (string | undefined)[] = new Array(size);
    const stored = Buffer.alloc(size * 32);
    const hasStored = new Uint8Array(size);
    const leafOf = new Map<string, number>();
    for await (const batch of log.index()) {
      for (const e of batch) {
        if (e.index < 0 || e.index >= size) continue;
        ids[e.index] = e.id;
        leafOf.set(e.id, e.index);
        if (e.leafHash?.length === 32) {
          stored.set(e.leafHash, e.index * 32);
          hasStored[e.index] = 1;
        }
      }
    }

    // One pass over the entries' bytes: each hashed for its leaf and verified (verifyRows, worker threads and all).
    const now = Buffer.alloc(size * 32);
    const seen = new Uint8Array(size);
    const outside: string[] = [];
    const take = (id: string, hash: Uint8Array): void => {
      const at = leafOf.get(id);
      if (at === undefined) {
        outside.push(id);
        return;
      }
      now.set(hash, at * 32);
      seen[at] = 1;
    };
    const verified = await verifyRows(store, opts, {
      leaf: take,
      ...(progress ? { progress } : {}),
      ...(threads !== undefined ? { threads } : {}),
    });
    const recordsChecked = verified.checked;
    let outcomesChecked = 0;
    for await (const batch of store.scanOutcomes?.() ?? []) {
      for (const o of batch) {
        take(o.outcomeId, leafHash(outcomeLeafBytes(o.canonicalText)));
        try {
          rowToOutcome(o);
        } catch (err) {
          problems.push({
            contextId: o.outcomeId,
            message: `outcome entry of ${o.contextId}: ${(err as Error).message}`,
          });
        }
      }
      outcomesChecked += batch.length;
    }

    // The checkpoints fabra signed and kept, opened with the trusted key (one that does not open is not trusted).
    const kept = new Map<number, Uint8Array>();
    if (options.verifier && store.listLogCheckpoints)
      for (const c of await store.listLogCheckpoints()) {
        try {
          const cp = parseCheckpoint(openNote(c.note, [options.verifier]).text);
          if (cp.size === c.size) kept.set(cp.size, cp.rootHash);
        } catch {
          // signed by another key (e.g. before a rotation): not evidence here
        }
      }
    if (trusted) kept.set(trusted.size, trusted.rootHash);
    const matches = new Map<number, boolean>();
    const named = new Set<number>();

    // The tree in leaf order, from the bytes as they are now (a deleted entry counts with its stored leaf hash, so
    // the rest can still be compared with the trusted checkpoint).
    let byStoredHash: Map<string, number> | null = null;
    let byNowHash: Map<string, string> | null = null;
    const storedAt = (i: number) => stored.subarray(i * 32, i * 32 + 32);
    const nowAt = (i: number) => now.subarray(i * 32, i * 32 + 32);
    /** Which entry's bytes now hash to what leaf i stored (the entry that was there, wherever it went). */
    const entryWithStored = (i: number): string | undefined => {
      if (!hasStored[i]) return undefined;
      if (!byNowHash) {
        byNowHash = new Map();
        for (let j = 0; j < size; j++) if (seen[j]) byNowHash.set(nowAt(j).toString("hex"), ids[j] as string);
      }
      return byNowHash.get(storedAt(i).toString("hex"));
    };
    const stack: { hash: Uint8Array; width: number }[] = [];
    let rootAtSince: Uint8Array | null = trusted?.size === 0 ? EMPTY_TREE_HASH : null;
    const fold = (): Uint8Array => {
      let h = stack[stack.length - 1]?.hash ?? EMPTY_TREE_HASH;
      for (let i = stack.length - 2; i >= 0; i--) h = nodeHash((stack[i] as { hash: Uint8Array }).hash, h);
      return h;
    };
    for (let i = 0; i < size; i++) {
      const problemsBefore = problems.length;
      const id = ids[i];
      const what = id !== undefined && leafKind(id) === "outcome" ? "outcome entry" : "record";
      let h: Uint8Array = storedAt(i);
      if (id === undefined) {
        const was = entryWithStored(i);
        problems.push({
          contextId: was ?? null,
          message: `leaf ${i} is missing from the log's leaf table${was ? ` (it was this entry's, now at leaf ${leafOf.get(was)})` : ""}`,
        });
      } else if (!seen[i]) {
        problems.push({ contextId: id, message: `${what} at leaf ${i} was deleted from the ledger` });
      } else {
        h = nowAt(i);
        if (!hasStored[i]) problems.push({ contextId: id, message: `the stored hash of leaf ${i} is missing` });
        else if (!equalHashes(h, storedAt(i))) {
          if (!byStoredHash) {
            byStoredHash = new Map();
            for (let j = 0; j < size; j++) if (hasStored[j]) byStoredHash.set(storedAt(j).toString("hex"), j);
          }
          const moved = byStoredHash.get(Buffer.from(h).toString("hex"));
          // Its bytes are another leaf's: moved there from that leaf (reordered), unless that leaf still holds them
          // (then this row was overwritten with a copy).
          const copy = moved !== undefined && seen[moved] === 1 && equalHashes(nowAt(moved), storedAt(moved));
          problems.push({
            contextId: id,
            message:
              moved !== undefined && !copy
                ? `${what} at leaf ${i} was integrated at leaf ${moved}: the log was reordered`
                : `${what} at leaf ${i} was rewritten after it entered the log (${copy ? `it now holds the bytes of leaf ${moved}` : "its bytes no longer hash to the leaf"})`,
          });
        }
      }
      let node = { hash: h, width: 1 };
      while (stack.length > 0 && (stack[stack.length - 1] as { width: number }).width === node.width) {
        const left = stack.pop() as { hash: Uint8Array; width: number };
        node = { hash: nodeHash(left.hash, node.hash), width: node.width * 2 };
      }
      stack.push(node);
      if (problems.length > problemsBefore) named.add(i);
      if (trusted && i + 1 === trusted.size) rootAtSince = fold();
      const signed = kept.get(i + 1);
      if (signed)
        matches.set(i + 1, equalHashes(i + 1 === trusted?.size ? (rootAtSince as Uint8Array) : fold(), signed));
    }
    for (const s of kept.keys()) if (s > size) matches.set(s, false);
    if (trusted?.size === 0) matches.set(0, true);
    for (const id of outside)
      problems.push({
        contextId: id,
        message: `${leafKind(id) === "outcome" ? "outcome entry" : "record"} is not in the transparency log`,
      });
    bracket(matches, named, size, ids, problems);
    const rootHash = fold();
    const storedRoot = size === 0 ? EMPTY_TREE_HASH : await treeHash(size, log.read).catch(() => null);
    if (!storedRoot || !equalHashes(storedRoot, rootHash))
      problems.push({
        contextId: null,
        message: "the stored subtree hashes do not give the tree head of the stored bytes",
      });
    let since: LogVerification["since"] = null;
    if (trusted) {
      let consistent = trusted.size <= size && rootAtSince !== null && equalHashes(rootAtSince, trusted.rootHash);
      if (trusted.size > size)
        problems.push({
          contextId: null,
          message: `the trusted checkpoint has ${trusted.size} leaves; the log now has only ${size}`,
        });
      else if (!consistent)
        problems.push({
          contextId: null,
          message: `the first ${trusted.size} leaves no longer hash to the trusted checkpoint's root: a record before it was deleted, reordered, rewritten or re-signed`,
        });
      if (consistent && storedRoot) {
        const proof = await consistencyProof(trusted.size, size, log.read).catch(() => null);
        consistent = proof !== null && verifyConsistency(trusted.size, size, trusted.rootHash, storedRoot, proof);
        if (!consistent)
          problems.push({
            contextId: null,
            message: "the consistency proof from the trusted checkpoint does not verify",
          });
      }
      since = { size: trusted.size, consistent };
    }
    return {
      treeSize: size,
      rootHash,
      recordsChecked,
      outcomesChecked,
      recordFailures: verified.failures,
      problems,
      since,
    };
  }
}

/**
 * A log rebuilt to match tampered entries hashes consistently, so no leaf stands out; but the checkpoints signed
 * before it no longer match. The first change lies between the largest signed size that still matches and the
 * smallest that does not: the entries now at those leaves are named (one, when checkpoints were signed after each).
 */
function bracket(
  matches: Map<number, boolean>,
  named: Set<number>,
  size: number,
  ids: readonly (string | undefined)[],
  problems: LogVerification["problems"],
): void {
  const sizes = [...matches.keys()].sort((a, b) => a - b);
  const bad = sizes.find((s) => matches.get(s) === false);
  if (bad === undefined) return;
  const good = sizes.filter((s) => s < bad && matches.get(s) === true).pop() ?? 0;
  const end = Math.min(bad, size);
  for (let i = good; i < end; i++) if (named.has(i)) return; // already named leaf by leaf
  const span = end - good;
  const shown = Math.min(span, 20);
  for (let i = good; i < good + shown; i++) {
    const id = ids[i];
    if (id === undefined) continue;
    problems.push({
      contextId: id,
      message:
        span === 1
          ? `${leafKind(id) === "outcome" ? "outcome entry" : "record"} at leaf ${i} is not the leaf the signed checkpoint of ${bad} leaves holds there (the checkpoint of ${good} still matches): deleted, reordered, rewritten or re-signed, and the log rebuilt to hide it`
          : `${leafKind(id) === "outcome" ? "outcome entry" : "record"} at leaf ${i} is one of the leaves ${good}–${end - 1}, among which the log no longer matches the signed checkpoint of ${bad} leaves (the checkpoint of ${good} still matches)`,
    });
  }
  if (span > shown) problems.push({ contextId: null, message: `…and ${span - shown} more leaves up to ${end - 1}` });
  if (bad > size)
    problems.push({
      contextId: null,
      message: `the log has ${size} leaves, fewer than the ${bad} of a checkpoint it signed: leaves were removed`,
    });
}

/** Checks an inclusion proof file against an entry's leaf bytes (a record's canonical text) and a verifier key, offline. */
export function checkInclusionProof(
  proof: InclusionProofFile,
  canonicalBytes: Uint8Array,
  contextId: string,
  verifier: NoteVerifier,
): { ok: boolean; reason?: string; checkpoint?: Checkpoint } {
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(openNote(proof.checkpoint, [verifier]).text);
  } catch (err) {
    return { ok: false, reason: `checkpoint: ${(err as Error).message}` };
  }
  if (proof.context_id !== contextId)
    return { ok: false, reason: `the proof is for ${proof.context_id}, the record is ${contextId}` };
  if (proof.tree_size !== checkpoint.size)
    return { ok: false, reason: `the proof's tree size ${proof.tree_size} is not the checkpoint's ${checkpoint.size}` };
  const hashes = proof.hashes.map((h) => new Uint8Array(Buffer.from(h, "base64")));
  if (!verifyInclusion(proof.leaf_index, checkpoint.size, leafHash(canonicalBytes), hashes, checkpoint.rootHash))
    return {
      ok: false,
      reason: `the audit path does not lead from this ${proof.outcome_id ? "outcome entry" : "record"}'s bytes to the checkpoint's root`,
    };
  return { ok: true, checkpoint };
}
