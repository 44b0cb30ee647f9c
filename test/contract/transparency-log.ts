// The transparency-log contract every SQL ledger backend passes (TLOG-001): concurrent appends and concurrent
// sequencer steps give one gap-free total order; the stored subtree hashes give the RFC 6962 head of the stored bytes;
// inclusion and consistency proofs built from them verify; leaves carry the records' exact bytes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeDatetime } from "../../src/record/datetime.js";
import type { LedgerRow, RecordStore } from "../../src/stores/types.js";
import { tileBackfillSql, tileId, tileSlot } from "../../src/stores/tlog-tiles.js";
import type { LogTables } from "../../src/stores/transparency-log.js";
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
  /** Raw SQL on that ledger's database, and the names of its log tables there. */
  raw: {
    query(sql: string): Promise<Record<string, unknown>[]>;
    tables: Pick<LogTables, "nodes" | "tiles" | "leafHashes">;
  };
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

    it("tiles hold every stored node's hash at its slot, step after step, exactly as the backfill builds them", async () => {
      let size = (await a.integrateLog?.()) as number;
      const { query, tables } = harness.raw;
      /** Each tile's slots as its rows hold them, and how many rows it has. */
      const readTiles = async () => {
        const slots = new Map<string, string[]>();
        const rows = new Map<string, number>();
        for (const r of await query(`SELECT tile_key, first_slot, hashes FROM ${tables.tiles}`)) {
          const id = r.tile_key as string;
          const list = slots.get(id) ?? [];
          slots.set(id, list);
          rows.set(id, (rows.get(id) ?? 0) + 1);
          const text = r.hashes as string;
          expect(text.length % 64).toBe(0);
          for (let at = 0; at < text.length; at += 64) {
            const slot = Number(r.first_slot) + at / 64;
            expect(list[slot], `${id} slot ${slot} in two rows`).toBeUndefined();
            list[slot] = text.slice(at, at + 64);
          }
        }
        return { slots, rows };
      };
      // uneven steps across tile boundaries (every 256 leaves), integrated on one handle or the other
      for (const [i, burst] of [1, 2, 5, 13, 60, 150, 90, 7, 200, 5].entries()) {
        for (let j = 0; j < burst; j++) await (j % 2 ? a : b).append(row(1000 + size + j));
        size = (await (i % 2 ? a : b).integrateLog?.()) as number;
        const { slots } = await readTiles();
        const total = [...slots.values()].reduce((n, list) => n + list.filter(Boolean).length, 0);
        expect(total).toBe(2 * size - [...size.toString(2)].filter((c) => c === "1").length); // every node, once
      }
      expect(size).toBeGreaterThan(512);
      const { slots, rows } = await readTiles();
      const stored = tables.leafHashes
        ? `SELECT node_key, hash FROM ${tables.nodes} UNION ALL SELECT '0/' || CAST(leaf_index AS VARCHAR), hash FROM ${tables.leafHashes}`
        : `SELECT node_key, hash FROM ${tables.nodes}`;
      const storedNodes = await query(stored);
      expect(storedNodes).toHaveLength(2 * size - [...size.toString(2)].filter((c) => c === "1").length);
      for (const n of storedNodes) {
        const [level, index] = String(n.node_key).split("/").map(Number);
        const key = { level: level as number, index: index as number };
        expect(slots.get(tileId(key))?.[tileSlot(key)], String(n.node_key)).toBe(n.hash);
      }
      // a complete tile is one row; the ones still filling up may be several
      expect(rows.get("0/0")).toBe(1);
      expect(rows.get("0/1")).toBe(1);
      expect(rows.get(tileId({ level: 0, index: size - 1 }))).toBeGreaterThan(1);
      // the schema upgrade's backfill (SQL) files every node at the same slot as the steps did (JS), one row a tile
      await query(`DELETE FROM ${tables.tiles}`);
      await query(tileBackfillSql(tables));
      const rebuilt = await readTiles();
      expect(rebuilt.slots).toEqual(slots);
      expect([...rebuilt.rows.values()].every((n) => n === 1)).toBe(true);

      // a tile cleared by hand: later steps file only their own slots; proofs read the lost ones from the nodes,
      // and the tile folded when it completes marks them missing
      const open = tileId({ level: 0, index: size });
      await query(`DELETE FROM ${tables.tiles} WHERE tile_key = '${open}'`);
      const lost = size;
      for (let j = 0; j < 3; j++) await a.append(row(5000 + j));
      let grown = (await a.integrateLog?.()) as number;
      const read = (keys: Parameters<NonNullable<RecordStore["readLogNodes"]>>[0]) =>
        (a.readLogNodes as NonNullable<RecordStore["readLogNodes"]>).call(a, keys);
      const viaTiles = (keys: Parameters<NonNullable<RecordStore["readLogNodes"]>>[0]) =>
        (b.readLogProofNodes as NonNullable<RecordStore["readLogNodes"]>).call(b, keys);
      const proves = async (leaf: number, treeSize: number) => {
        const [stored] = await read([{ level: 0, index: leaf }]);
        const proof = await inclusionProof(leaf, treeSize, viaTiles);
        return verifyInclusion(leaf, treeSize, stored as Uint8Array, proof, await treeHash(treeSize, read));
      };
      for (const leaf of [lost - 2, lost - 1, lost, grown - 1]) expect(await proves(leaf, grown)).toBe(true);
      // the step that completes the tile folds its rows (and the gap) into one
      for (let j = grown; j % 256 !== 0; j++) await b.append(row(6000 + j));
      grown = (await b.integrateLog?.()) as number;
      expect(grown % 256).toBe(0);
      const folded = (await readTiles()).slots.get(open) as string[];
      expect(folded).toHaveLength(510);
      expect(folded[tileSlot({ level: 0, index: lost - 1 })]).toBe("-".repeat(64));
      expect(folded[tileSlot({ level: 0, index: lost })]).toMatch(/^[0-9a-f]{64}$/);
      for (const leaf of [lost - 1, lost, grown - 1]) expect(await proves(leaf, grown)).toBe(true);
    });
  });
}
