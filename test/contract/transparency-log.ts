// The transparency-log contract every SQL ledger backend passes (TLOG-001): concurrent appends and concurrent
// sequencer steps give one gap-free total order; the stored subtree hashes give the RFC 6962 head of the stored bytes;
// inclusion and consistency proofs built from them verify; leaves carry the records' exact bytes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeDatetime } from "../../src/record/datetime.js";
import type { LedgerRow, RecordStore } from "../../src/stores/types.js";
import { makeOutcome, outcomeToRow } from "../../src/engine/ledger/outcome.js";
import {
  consistencyProof,
  inclusionProof,
  inclusionRanges,
  rangeNodes,
  leafHash,
  nodeHash,
  treeHash,
  verifyConsistency,
  verifyInclusion,
} from "../../src/tlog/merkle.js";

export interface TransparencyLogHarness {
  /** Two handles on one fresh, empty ledger (two pools on Postgres: like two API processes). */
  open(): Promise<[RecordStore, RecordStore]>;
  cleanup?(): Promise<void>;
}

function row(i: number): LedgerRow {
  const id = `ctx_0190a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, "0")}`;
  return {
    contextId: id,
    createdAt: normalizeDatetime(`2026-01-01T00:00:${String(i % 60).padStart(2, "0")}Z`),
    contextFunction: "chat",
    environment: "development",
    tokenCount: i,
    recordHash: `sha256:${String(i).padStart(64, "0")}`,
    previousContextId: null,
    canonicalText: `{"context_id":"${id}","n":${i},"text":"café 😀 \\"q\\""}`,
  };
}

function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

export function transparencyLogContract(name: string, harness: TransparencyLogHarness): void {
  describe(`transparency log contract: ${name}`, () => {
    let a: RecordStore;
    let b: RecordStore;
    beforeAll(async () => {
      [a, b] = await harness.open();
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await harness.cleanup?.();
    });

    it("sequences concurrent appends into one gap-free order whose stored tree is the RFC 6962 tree of the bytes", async () => {
      expect(await a.integrateLog?.()).toBe(0);
      const rows = Array.from({ length: 40 }, (_, i) => row(i));
      // 16 in flight on two handles, with sequencer steps running on both meanwhile
      const appends = rows.map((r, i) => (i % 2 === 0 ? a : b).append(r));
      const steps = [a.integrateLog?.(), b.integrateLog?.()];
      await Promise.all([...appends, ...steps]);
      const [sa, sb] = await Promise.all([a.integrateLog?.(), b.integrateLog?.()]);
      expect(sa).toBe(40);
      expect(sb).toBe(40);

      const leaves = [];
      for await (const batch of a.scanLogLeaves?.(7) ?? []) leaves.push(...batch);
      expect(leaves.map((l) => l.index)).toEqual(rows.map((_, i) => i));
      expect(new Set(leaves.map((l) => l.contextId)).size).toBe(40);
      const byId = new Map(rows.map((r) => [r.contextId, r]));
      for (const l of leaves) {
        expect(Buffer.from(l.canonicalBytes as Uint8Array).toString("utf8")).toBe(byId.get(l.contextId)?.canonicalText);
        expect(Buffer.from(l.leafHash)).toEqual(Buffer.from(leafHash(l.canonicalBytes as Uint8Array)));
        expect(await b.logLeafIndex?.(l.contextId)).toBe(l.index);
      }
      const read = (keys: Parameters<NonNullable<RecordStore["readLogNodes"]>>[0]) =>
        (a.readLogNodes as NonNullable<RecordStore["readLogNodes"]>).call(a, keys);
      const root = await treeHash(40, read);
      expect(Buffer.from(root)).toEqual(Buffer.from(mth(leaves.map((l) => l.leafHash))));
      for (const l of leaves)
        expect(verifyInclusion(l.index, 40, l.leafHash, await inclusionProof(l.index, 40, read), root)).toBe(true);

      const old = await treeHash(23, read);
      for (let i = 40; i < 45; i++) await b.append(row(i));
      expect(await b.integrateLog?.()).toBe(45);
      const newRoot = await treeHash(45, read);
      expect(verifyConsistency(23, 45, old, newRoot, await consistencyProof(23, 45, read))).toBe(true);
      expect(verifyConsistency(40, 45, root, newRoot, await consistencyProof(40, 45, read))).toBe(true);
      expect(await a.logLeafIndex?.("ctx_0190a1b2-c3d4-7e5f-8a9b-999999999999")).toBeNull();
    });

    it("outcome entries are leaves in the same order (domain-separated bytes); proofs through the tiles match the nodes", async () => {
      const before = (await a.integrateLog?.()) as number;
      const appended: string[] = [];
      for (let i = 100; i < 106; i++) {
        const r = row(i);
        await a.append(r);
        appended.push(r.contextId);
        const outcome = outcomeToRow(
          makeOutcome(
            r.contextId,
            {
              provider: "test",
              responseId: `resp-${i}`,
              model: "m",
              usage: null,
              latencyMs: 1.5,
              finishReason: "stop",
              outputText: `answer ${i}`,
            },
            true,
          ),
        );
        await b.appendOutcome?.(outcome);
        appended.push(outcome.outcomeId);
      }
      const size = (await b.integrateLog?.()) as number;
      expect(size).toBe(before + appended.length);
      const leaves = [];
      for await (const batch of a.scanLogLeaves?.(5) ?? []) leaves.push(...batch);
      expect(leaves.slice(before).map((l) => l.contextId)).toEqual(appended);
      for (const l of leaves.slice(before)) {
        const text = Buffer.from(l.canonicalBytes as Uint8Array).toString("utf8");
        if (l.contextId.startsWith("out_")) expect(text.startsWith('fabra:outcome:v1\n{"context_id":"ctx_')).toBe(true);
        else expect(text.startsWith("{")).toBe(true);
        expect(Buffer.from(l.leafHash)).toEqual(Buffer.from(leafHash(l.canonicalBytes as Uint8Array)));
      }
      const index = [];
      for await (const batch of b.scanLogIndex?.(4) ?? []) index.push(...batch);
      expect(index.map((e) => e.id)).toEqual(leaves.map((l) => l.contextId));
      const read = (keys: Parameters<NonNullable<RecordStore["readLogNodes"]>>[0]) =>
        (a.readLogNodes as NonNullable<RecordStore["readLogNodes"]>).call(a, keys);
      const viaTiles = (keys: Parameters<NonNullable<RecordStore["readLogNodes"]>>[0]) =>
        (b.readLogProofNodes as NonNullable<RecordStore["readLogNodes"]>).call(b, keys);
      const root = await treeHash(size, read);
      for (const l of leaves) {
        const keys = inclusionRanges(l.index, size).flatMap(rangeNodes);
        expect((await viaTiles(keys)).map((h) => Buffer.from(h).toString("hex"))).toEqual(
          (await read(keys)).map((h) => Buffer.from(h).toString("hex")),
        );
        expect(verifyInclusion(l.index, size, l.leafHash, await inclusionProof(l.index, size, viaTiles), root)).toBe(
          true,
        );
      }
      // nothing is integrated twice
      expect(await a.integrateLog?.()).toBe(size);
      expect(await b.integrateLog?.()).toBe(size);
    });
  });
}
