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

/** The proof file of `fabra context prove` (TLOG-001 §Proof file). */
export interface InclusionProofFile {
  format: "fabra-tlog-inclusion-proof/v1";
  context_id: string;
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

/** What `ledger verify` found; `problems` name the records (or subtrees) that failed. */
export interface LogVerification {
  treeSize: number;
  rootHash: Uint8Array;
  problems: { contextId: string | null; message: string }[];
  since: { size: number; consistent: boolean } | null;
}

export interface LogSettings {
  origin: string;
  keyFile: string | null;
}

function logMethods(store: RecordStore) {
  const { integrateLog, logSize, readLogNodes, logLeafIndex, scanLogLeaves } = store;
  if (!integrateLog || !logSize || !readLogNodes || !logLeafIndex || !scanLogLeaves)
    throw new FabraError("INVALID_ARGUMENT", "This ledger store keeps no transparency log", {
      hint: "Run the ledger command where the DuckDB file or Postgres database is (not through a running server).",
    });
  return {
    integrate: () => integrateLog.call(store),
    size: () => logSize.call(store),
    read: (keys: Parameters<typeof readLogNodes>[0]) => readLogNodes.call(store, keys),
    leafIndex: (id: string) => logLeafIndex.call(store, id),
    leaves: (n?: number) => scanLogLeaves.call(store, n),
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
    return { note: signNote(formatCheckpoint(checkpoint), [signer]), checkpoint };
  }

  /** The RFC 6962 consistency proof from the tree of `from` leaves to the tree of `to` (INVALID_ARGUMENT if from > to). */
  async consistency(from: number, to: number): Promise<Uint8Array[]> {
    if (from > to)
      throw new FabraError("INVALID_ARGUMENT", `since=${from} is larger than the tree (${to} leaves)`, {
        hint: "Give the tree size of a checkpoint you saved from this log.",
      });
    return consistencyProof(from, to, (await this.log()).read);
  }

  /** An offline inclusion proof of the record under a fresh signed checkpoint. */
  async prove(id: string, signer: NoteSigner = loadSigner(this.settings)): Promise<InclusionProofFile> {
    const contextId = normalizeContextId(id);
    const { note, checkpoint } = await this.checkpoint(signer);
    const log = await this.log();
    const index = await log.leafIndex(contextId);
    if (index === null)
      throw new FabraError("RECORD_NOT_FOUND", `No context record ${contextId} in the transparency log`, {
        hint: "`fabra context list` shows the records in the ledger.",
      });
    const hashes = await inclusionProof(index, checkpoint.size, log.read);
    return {
      format: "fabra-tlog-inclusion-proof/v1",
      context_id: contextId,
      leaf_index: index,
      tree_size: checkpoint.size,
      hashes: hashes.map((h) => Buffer.from(h).toString("base64")),
      checkpoint: note,
    };
  }

  /**
   * Recomputes the tree from the records' stored bytes in leaf order: every leaf must still have its record, with the
   * bytes it was integrated with; the stored subtree hashes must give the same root; and, given a trusted checkpoint,
   * its first `size` leaves must hash to its root (and a consistency proof from the stored tree must check).
   */
  async verify(trusted: Checkpoint | null): Promise<LogVerification> {
    const log = await this.log();
    const size = await log.integrate();
    const problems: LogVerification["problems"] = [];
    const stack: { hash: Uint8Array; width: number }[] = [];
    let count = 0;
    let rootAtSince: Uint8Array | null = trusted?.size === 0 ? EMPTY_TREE_HASH : null;
    const fold = (): Uint8Array => {
      let h = stack[stack.length - 1]?.hash ?? EMPTY_TREE_HASH;
      for (let i = stack.length - 2; i >= 0; i--) h = nodeHash((stack[i] as { hash: Uint8Array }).hash, h);
      return h;
    };
    for await (const batch of log.leaves(25_000)) {
      for (const leaf of batch) {
        if (leaf.index !== count) {
          problems.push({ contextId: leaf.contextId, message: `leaf ${count} is missing from the log` });
          count = leaf.index;
        }
        let h = leaf.leafHash;
        if (leaf.canonicalBytes === null) {
          problems.push({
            contextId: leaf.contextId,
            message: `record at leaf ${leaf.index} was deleted from the ledger`,
          });
        } else {
          const now = leafHash(leaf.canonicalBytes);
          if (!equalHashes(now, leaf.leafHash))
            problems.push({
              contextId: leaf.contextId,
              message: `record at leaf ${leaf.index} was rewritten after it entered the log (its bytes no longer hash to the leaf)`,
            });
          h = now;
        }
        let node = { hash: h, width: 1 };
        while (stack.length > 0 && (stack[stack.length - 1] as { width: number }).width === node.width) {
          const left = stack.pop() as { hash: Uint8Array; width: number };
          node = { hash: nodeHash(left.hash, node.hash), width: node.width * 2 };
        }
        stack.push(node);
        count++;
        if (trusted && count === trusted.size) rootAtSince = fold();
      }
    }
    const rootHash = fold();
    if (count !== size)
      problems.push({ contextId: null, message: `the log says ${size} leaves but ${count} were read` });
    const stored = size === 0 ? EMPTY_TREE_HASH : await treeHash(size, log.read).catch(() => null);
    if (!stored || !equalHashes(stored, rootHash))
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
      if (consistent && stored) {
        const proof = await consistencyProof(trusted.size, size, log.read).catch(() => null);
        consistent = proof !== null && verifyConsistency(trusted.size, size, trusted.rootHash, stored, proof);
        if (!consistent)
          problems.push({
            contextId: null,
            message: "the consistency proof from the trusted checkpoint does not verify",
          });
      }
      since = { size: trusted.size, consistent };
    }
    return { treeSize: size, rootHash, problems, since };
  }
}

/** Checks an inclusion proof file against a record's canonical bytes and a verifier key, offline. */
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
    return { ok: false, reason: "the audit path does not lead from this record's bytes to the checkpoint's root" };
  return { ok: true, checkpoint };
}
