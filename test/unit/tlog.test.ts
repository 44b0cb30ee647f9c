// The transparency-log primitives against published vectors (RFC 6962 tree heads as certificate-transparency tests
// them; Go's sumdb/note signature) and against a naive RFC 6962 reference for every proof up to 40 leaves.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatCheckpoint, parseCheckpoint } from "../../src/tlog/checkpoint.js";
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  type NodeKey,
  newInteriorNodes,
  nodeHash,
  treeHash,
  verifyConsistency,
  verifyInclusion,
} from "../../src/tlog/merkle.js";
import {
  generateNoteKeys,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierKeyOf,
} from "../../src/tlog/note.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "tlog");
const rfc = JSON.parse(readFileSync(join(FIXTURES, "rfc6962-roots.json"), "utf8")) as {
  leaves: string[];
  roots: string[];
  empty_root: string;
};
const noteVector = JSON.parse(readFileSync(join(FIXTURES, "signed-note.json"), "utf8")) as Record<string, string>;

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** MTH of RFC 6962 §2.1, straight from the definition. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** A node store built the way the ledger builds it: leaf hashes, then each newly complete interior node. */
function buildStore(leafHashes: Uint8Array[]): { read: (keys: readonly NodeKey[]) => Promise<Uint8Array[]> } {
  const nodes = new Map<string, Uint8Array>();
  const key = (k: NodeKey) => `${k.level}/${k.index}`;
  leafHashes.forEach((h, i) => {
    nodes.set(key({ level: 0, index: i }), h);
    for (const n of newInteriorNodes(i, i + 1)) {
      const l = nodes.get(key({ level: n.level - 1, index: 2 * n.index })) as Uint8Array;
      const r = nodes.get(key({ level: n.level - 1, index: 2 * n.index + 1 })) as Uint8Array;
      nodes.set(key(n), nodeHash(l, r));
    }
  });
  return {
    read: async (keys) =>
      keys.map((k) => {
        const h = nodes.get(key(k));
        if (!h) throw new Error(`no node ${key(k)}`);
        return h;
      }),
  };
}

describe("RFC 6962 Merkle tree", () => {
  const leaves = rfc.leaves.map((l) => leafHash(Buffer.from(l, "hex")));
  const store = buildStore(leaves);

  it("gives the published tree heads for 0..8 leaves", async () => {
    expect(hex(await treeHash(0, store.read))).toBe(rfc.empty_root);
    for (let n = 1; n <= 8; n++) expect(hex(await treeHash(n, store.read))).toBe(rfc.roots[n - 1]);
  });

  it("proves and verifies every inclusion and consistency up to 40 leaves, and rejects tampered proofs", async () => {
    const many = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const s = buildStore(many);
    for (let n = 1; n <= 40; n++) {
      const root = await treeHash(n, s.read);
      expect(hex(root)).toBe(hex(mth(many.slice(0, n))));
      for (let m = 0; m < n; m++) {
        const proof = await inclusionProof(m, n, s.read);
        expect(verifyInclusion(m, n, many[m] as Uint8Array, proof, root)).toBe(true);
        if (n > 1) expect(verifyInclusion(m, n, many[(m + 1) % n] as Uint8Array, proof, root)).toBe(false);
        if (proof.length > 0) {
          const bad = proof.map((p) => new Uint8Array(p));
          const first = bad[0] as Uint8Array;
          first[0] = (first[0] as number) ^ 1;
          expect(verifyInclusion(m, n, many[m] as Uint8Array, bad, root)).toBe(false);
        }
        expect(verifyInclusion(m, n, many[m] as Uint8Array, proof, nodeHash(root, root))).toBe(false);
        expect(verifyInclusion(n, n, many[m] as Uint8Array, proof, root)).toBe(false);
      }
      for (let m = 1; m <= n; m++) {
        const oldRoot = await treeHash(m, s.read);
        const proof = await consistencyProof(m, n, s.read);
        expect(verifyConsistency(m, n, oldRoot, root, proof)).toBe(true);
        if (m < n) {
          expect(verifyConsistency(m, n, nodeHash(oldRoot, oldRoot), root, proof)).toBe(false);
          expect(verifyConsistency(m, n, oldRoot, root, proof.slice(1))).toBe(false);
        }
      }
    }
  });
});

describe("C2SP signed note", () => {
  it("reads Go's key text, signs exactly as Go does and opens Go's signature", () => {
    const signer = parseSignerKey(noteVector.signer_key as string);
    expect(verifierKeyOf(signer)).toBe(noteVector.verifier_key);
    const signed = signNote(noteVector.text as string, [signer]);
    expect(signed).toBe(`${noteVector.text}\n${noteVector.signature_line}`);
    const opened = openNote(signed, [parseVerifierKey(noteVector.verifier_key as string)]);
    expect(opened.text).toBe(noteVector.text);
  });

  it("refuses an altered text, an unknown key and a bad key hash", () => {
    const signed = `${noteVector.text}\n${noteVector.signature_line}`;
    const v = parseVerifierKey(noteVector.verifier_key as string);
    expect(() => openNote(signed.replace("answer", "ANSWER"), [v])).toThrow(/does not verify/);
    const other = parseVerifierKey(generateNoteKeys("PeterNeumann").verifierKey);
    expect(() => openNote(signed, [other])).toThrow(/no signature by a known key/);
    expect(() => parseVerifierKey((noteVector.verifier_key as string).replace("c74f20a3", "c74f20a4"))).toThrow(
      /does not match/,
    );
  });

  it("makes key pairs whose signatures open", () => {
    const { signerKey, verifierKey } = generateNoteKeys("fabra.test/log");
    const note = signNote("hello\n", [parseSignerKey(signerKey)]);
    expect(openNote(note, [parseVerifierKey(verifierKey)]).verifiedBy).toHaveLength(1);
  });
});

describe("C2SP tlog-checkpoint", () => {
  it("round-trips and refuses malformed text", () => {
    const c = { origin: "example.com/log", size: 5, rootHash: new Uint8Array(32).fill(7), extensions: [] };
    const text = formatCheckpoint(c);
    expect(text).toBe(`example.com/log\n5\n${Buffer.alloc(32, 7).toString("base64")}\n`);
    expect(parseCheckpoint(text)).toEqual(c);
    expect(() => parseCheckpoint("example.com/log\n05\nAAAA\n")).toThrow();
    expect(() => parseCheckpoint(text.slice(0, -1))).toThrow();
  });
});
