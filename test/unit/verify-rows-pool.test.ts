// verify --all and ledger verify with worker threads (verify-rows-pool.ts): the workers run the same verifier, so a
// ledger of good, tampered, re-sealed, misfiled, deeply nested and signed rows gives exactly the results (and leaf
// hashes) it gives on one thread, and the rows really were verified in the workers.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type VerifyRowsOptions, verifyRows } from "../../src/engine/ledger/verify-rows.js";
import { fromEpochMicros } from "../../src/record/datetime.js";
import { canonicalRecordText } from "../../src/record/hash.js";
import { newContextId } from "../../src/record/id.js";
import { sealRecord } from "../../src/record/seal.js";
import { parseSigningKey, signRecord } from "../../src/record/sign.js";
import type { VerifyOptions } from "../../src/record/verify.js";
import { readRecordText } from "../../src/record/verify.js";
import type { RawLedgerRow, RecordStore } from "../../src/stores/types.js";
import { leafHash, nodeHash, prefixedLeafHash } from "../../src/tlog/merkle.js";
import { resealStructural } from "../helpers/reseal.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const bases = ["plain", "features_unicode_numbers", "empty_content", "retrieval_drops_signed"].map((n) =>
  readRecordText(readFileSync(join(VECTORS, `${n}.json`), "utf8")),
);
const key = parseSigningKey("secret-1", "k1");
const DEEP = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;

/** 300 rows: mostly intact (some signed), with every kind of bad row spread among them. */
function ledgerRows(): RawLedgerRow[] {
  const rows: RawLedgerRow[] = [];
  for (let i = 0; i < 300; i++) {
    const base = bases[i % bases.length] as (typeof bases)[number];
    let { record } = sealRecord({
      ...base,
      context_id: newContextId(1_700_000_000_000 + i),
      created_at: fromEpochMicros(1_700_000_000_000_000n + BigInt(i) * 1000n),
      inputs: { ...base.inputs, n: i },
      integrity: { ...base.integrity, record_hash: "", content_hash: "", signature: null, signed_at: null },
    });
    if (i % 5 === 0) record = signRecord(record, key);
    let text = canonicalRecordText(record);
    let id = record.context_id;
    let hash = record.integrity.record_hash;
    if (i % 37 === 3) text = text.replace('"content":"', '"content":"X'); // tampered
    if (i % 41 === 4) text = resealStructural(text.replace('{"assembly"', '{"zzz":1,"assembly"')); // re-sealed, not a record
    if (i % 43 === 5) text = resealStructural(text.replace(/,"inputs":\{/, `,"inputs":{"deep":${DEEP},`));
    if (i % 47 === 6) id = newContextId(1_600_000_000_000 + i); // misfiled under another id
    if (i % 53 === 7) hash = "sha256:00"; // the indexed column disagrees
    rows.push({ contextId: id, recordHash: hash, createdAt: record.created_at, canonicalBytes: Buffer.from(text) });
  }
  return rows;
}

/** A store that is only a raw scan, in batches of 32 rows (so several workers get work). */
function storeOf(rows: RawLedgerRow[]): RecordStore {
  return {
    async *scanRaw() {
      for (let i = 0; i < rows.length; i += 32) yield rows.slice(i, i + 32);
    },
  } as unknown as RecordStore;
}

async function run(rows: RawLedgerRow[], opts: VerifyOptions, options: VerifyRowsOptions) {
  const leaves: [string, string][] = [];
  const progress: number[] = [];
  const result = await verifyRows(storeOf(rows), opts, {
    ...options,
    leaf: (id, hash) => leaves.push([id, Buffer.from(hash).toString("hex")]),
    progress: (n) => progress.push(n),
  });
  return { result, leaves, progress };
}

describe("verifying the ledger in worker threads", () => {
  const rows = ledgerRows();

  for (const [name, opts] of [
    ["no key", {}],
    ["a key, signatures required", { signingKey: key, requireSignature: true }],
    ["keys by id (rotation)", { signingKeys: [parseSigningKey("other", "k0"), key] }],
  ] as [string, VerifyOptions][]) {
    it(`gives exactly the one-thread results and leaf hashes (${name})`, async () => {
      const inline = await run(rows, opts, { threads: 0 });
      const pooled = await run(rows, opts, { threads: 2, awaitWorkers: true });
      expect(inline.result.inWorkers).toBe(0);
      expect(pooled.result.inWorkers).toBe(rows.length); // every row went to a worker
      expect(pooled.result.checked).toBe(rows.length);
      expect(pooled.result.failures).toEqual(inline.result.failures);
      expect(pooled.leaves).toEqual(inline.leaves);
      expect(pooled.leaves).toEqual(
        rows.map((r) => [r.contextId, Buffer.from(leafHash(r.canonicalBytes)).toString("hex")]),
      );
      expect(pooled.progress).toEqual(inline.progress);
      // not vacuous: every kind of bad row failed, the deep one cleanly, and the signed ones verified
      expect(inline.result.failures.length).toBeGreaterThan(20);
      expect(inline.result.failures.some((f) => /nested deeper than 512 levels/.test(f.failed?.actual ?? ""))).toBe(
        true,
      );
      expect(inline.result.failures.some((f) => f.failed?.name === "content_hash")).toBe(true);
      expect(inline.result.failures.some((f) => /holds the record/.test(f.failed?.actual ?? ""))).toBe(true);
    });
  }

  it("requires signatures in the workers too: unsigned rows fail there as here", async () => {
    const pooled = await run(rows, { signingKey: key, requireSignature: true }, { threads: 2, awaitWorkers: true });
    const unsigned = pooled.result.failures.filter((f) => f.failed?.name === "signature");
    expect(unsigned.length).toBeGreaterThan(100);
  });
});

describe("the one-shot RFC 6962 hashes (tlog/merkle.ts)", () => {
  it("equal SHA-256 over the prefixed bytes computed with a Hash object", () => {
    const sha = (...parts: Uint8Array[]) => {
      const h = createHash("sha256");
      for (const p of parts) h.update(p);
      return h.digest();
    };
    for (let n = 0; n < 3000; n += 97) {
      const bytes = Buffer.alloc(n, n % 251);
      const prefixed = Buffer.concat([Buffer.of(0), bytes]);
      expect(Buffer.from(leafHash(bytes))).toEqual(sha(Buffer.of(0), bytes));
      expect(Buffer.from(prefixedLeafHash(prefixed))).toEqual(sha(Buffer.of(0), bytes));
      const left = leafHash(bytes);
      const right = leafHash(prefixed);
      expect(Buffer.from(nodeHash(left, right))).toEqual(sha(Buffer.of(1), left, right));
    }
  });
});
