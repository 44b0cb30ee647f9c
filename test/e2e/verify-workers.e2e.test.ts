// The built verifier's worker threads (dist/engine/ledger/verify-rows-worker.js, what `verify --all` and `ledger
// verify` start on a large ledger): run in a child process from dist, every row goes to a worker and the results
// equal the one-thread ones (test/unit/verify-rows-pool.test.ts covers the same from the sources, through jiti).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

const SCRIPT = `
import { readFileSync } from "node:fs";
import { verifyRows } from "./dist/engine/ledger/verify-rows.js";
import { sealRecord } from "./dist/record/seal.js";
import { newContextId } from "./dist/record/id.js";
import { readRecordText } from "./dist/record/verify.js";
import { canonicalRecordText } from "./dist/record/hash.js";
const base = readRecordText(readFileSync("test/fixtures/crs-001/plain.json", "utf8"));
const rows = [];
for (let i = 0; i < 200; i++) {
  const { record } = sealRecord({ ...base, context_id: newContextId(1_700_000_000_000 + i), inputs: { n: i },
    integrity: { ...base.integrity, record_hash: "", content_hash: "", signature: null, signed_at: null } });
  let text = canonicalRecordText(record);
  if (i % 17 === 3) text = text.replace('"content":"', '"content":"X');
  rows.push({ contextId: record.context_id, recordHash: record.integrity.record_hash, createdAt: record.created_at,
    canonicalBytes: Buffer.from(text) });
}
const store = { async *scanRaw() { for (let i = 0; i < rows.length; i += 16) yield rows.slice(i, i + 16); } };
const leaves = [];
const pooled = await verifyRows(store, {}, { threads: 2, awaitWorkers: true, leaf: (id, h) => leaves.push(Buffer.from(h).toString("hex")) });
const inline = await verifyRows(store, {}, { threads: 0, leaf: (id, h) => leaves.push(Buffer.from(h).toString("hex")) });
console.log(JSON.stringify({ pooled, inline, sameLeaves: JSON.stringify(leaves.slice(0, 200)) === JSON.stringify(leaves.slice(200)) }));
`;

describe("verification worker threads, as built", () => {
  // --expose-gc: a flag a worker may not take (ERR_WORKER_INVALID_EXEC_ARGV); the workers start without it.
  it.each([[[]], [["--expose-gc"]]])("verify every row in a worker, with the one-thread results (node %j)", (flags) => {
    const args = [...flags, "--input-type=module", "-e", SCRIPT];
    const out = execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
    const { pooled, inline, sameLeaves } = JSON.parse(out);
    expect(pooled.inWorkers).toBe(200);
    expect(inline.inWorkers).toBe(0);
    expect(pooled.checked).toBe(200);
    expect(pooled.failures.length).toBe(12); // the tampered rows
    expect(pooled.failures).toEqual(inline.failures);
    expect(sameLeaves).toBe(true);
  });
});
