// fabra's checkpoints and proofs checked by an independent implementation: Go's golang.org/x/mod/sumdb/note
// (note.Open) and sumdb/tlog (CheckRecord, CheckTree), built from test/interop/go with Debian's GOPATH sources
// (golang-go, golang-golang-x-mod-dev; .ci/run installs them). Without Go this file fails in CI, and outside CI
// it says why and skips.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { formatCheckpoint } from "../../src/tlog/checkpoint.js";
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  type NodeKey,
  newInteriorNodes,
  nodeHash,
  treeHash,
} from "../../src/tlog/merkle.js";
import { generateNoteKeys, parseSignerKey, signNote } from "../../src/tlog/note.js";
import { IN_CI } from "../helpers/services.js";

const GO_SOURCE = join(import.meta.dirname, "..", "interop", "go");

function goAvailable(): boolean {
  const found = spawnSync("go", ["version"], { encoding: "utf8" });
  if (found.status === 0) return true;
  if (IN_CI) throw new Error("Go is not installed: CI must run the Go interop test (.ci/run installs golang-go)");
  process.stderr.write(
    "skipping the Go interop test: `go` is not on PATH (apt-get install golang-go golang-golang-x-mod-dev)\n",
  );
  return false;
}

const haveGo = goAvailable();

/** Leaf hashes and the subtree store the ledger keeps, for `n` leaves. */
function tree(leaves: Buffer[]) {
  const nodes = new Map<string, Uint8Array>();
  const id = (k: NodeKey) => `${k.level}/${k.index}`;
  leaves.forEach((leaf, i) => {
    nodes.set(id({ level: 0, index: i }), leafHash(leaf));
    for (const n of newInteriorNodes(i, i + 1))
      nodes.set(
        id(n),
        nodeHash(
          nodes.get(id({ level: n.level - 1, index: 2 * n.index })) as Uint8Array,
          nodes.get(id({ level: n.level - 1, index: 2 * n.index + 1 })) as Uint8Array,
        ),
      );
  });
  return async (keys: readonly NodeKey[]) => keys.map((k) => nodes.get(id(k)) as Uint8Array);
}

const b64 = (h: Uint8Array) => Buffer.from(h).toString("base64");

describe.runIf(haveGo)("Go's sumdb/note and sumdb/tlog accept fabra's checkpoints and proofs", () => {
  let binary = "";
  const keys = generateNoteKeys("fabra.test/interop-log");
  const signer = parseSignerKey(keys.signerKey);
  const leaves = Array.from({ length: 37 }, (_, i) => Buffer.from(`{"record":${i},"text":"\u00e9t\u00e9 ${i}"}`));
  const read = tree(leaves);

  async function signed(size: number): Promise<string> {
    const root = await treeHash(size, read);
    return signNote(formatCheckpoint({ origin: "fabra.test/interop-log", size, rootHash: root, extensions: [] }), [
      signer,
    ]);
  }

  function check(input: unknown): { status: number | null; out: string } {
    const r = spawnSync(binary, [], { input: JSON.stringify(input), encoding: "utf8" });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  beforeAll(() => {
    binary = join(mkdtempSync(join(tmpdir(), "fabra-go-")), "tlogcheck");
    execFileSync("go", ["build", "-o", binary, "./tlogcheck"], {
      cwd: GO_SOURCE,
      env: {
        ...process.env,
        GO111MODULE: "off",
        GOPATH: "/usr/share/gocode",
        GOFLAGS: "",
        GOCACHE: join(tmpdir(), "fabra-go-cache"),
      },
    });
  }, 120_000);

  it("verifies every inclusion proof and consistency proofs at many sizes", async () => {
    for (const size of [1, 2, 3, 7, 8, 9, 16, 31, 37]) {
      const inclusions = [];
      for (let i = 0; i < size; i++)
        inclusions.push({
          leaf: (leaves[i] as Buffer).toString("base64"),
          leaf_index: i,
          hashes: (await inclusionProof(i, size, read)).map(b64),
        });
      for (const old of [1, Math.ceil(size / 2), size]) {
        const result = check({
          verifier_key: keys.verifierKey,
          checkpoint: await signed(size),
          old_checkpoint: await signed(old),
          consistency: (await consistencyProof(old, size, read)).map(b64),
          inclusions,
        });
        expect(result, `size ${size}, old ${old}`).toEqual({ status: 0, out: "ok\n" });
      }
    }
  });

  it("refuses a tampered proof, a tampered checkpoint and a wrong leaf (the checker is not vacuous)", async () => {
    const size = 9;
    const hashes = (await inclusionProof(4, size, read)).map(b64);
    const base = {
      verifier_key: keys.verifierKey,
      checkpoint: await signed(size),
      old_checkpoint: "",
      consistency: [],
    };
    const leaf = (leaves[4] as Buffer).toString("base64");
    expect(check({ ...base, inclusions: [{ leaf, leaf_index: 4, hashes }] }).status).toBe(0);
    const bad = [b64(nodeHash(leafHash(Buffer.from("x")), leafHash(Buffer.from("y")))), ...hashes.slice(1)];
    expect(check({ ...base, inclusions: [{ leaf, leaf_index: 4, hashes: bad }] }).out).toMatch(/CheckRecord/);
    const other = (leaves[5] as Buffer).toString("base64");
    expect(check({ ...base, inclusions: [{ leaf: other, leaf_index: 4, hashes }] }).status).toBe(1);
    const forged = base.checkpoint.replace("\n9\n", "\n10\n");
    expect(check({ ...base, checkpoint: forged, inclusions: [] }).out).toMatch(/note.Open/);
    const old = await signed(4);
    const wrong = (await consistencyProof(5, size, read)).map(b64);
    expect(check({ ...base, old_checkpoint: old, consistency: wrong, inclusions: [] }).out).toMatch(/CheckTree/);
  });
});
