// A verification worker (verify-rows-pool.ts starts it): verifies batches of ledger rows exactly as the main thread
// would (verifyRawLedgerRow: the fast byte path, the full path for anything it does not prove), and with `leaves`
// hashes each row's bytes for its transparency-log leaf first. It answers with the failed rows' results only.
import { parentPort, workerData } from "node:worker_threads";
import type { VerifyOptions } from "../../record/verify.js";
import { prefixedLeafHash } from "../../tlog/merkle.js";
import { type RowBatch, type RowBatchAnswer, verifyOptionsFromClone } from "./verify-rows-pool.js";
import { verifyRawLedgerRow } from "./verify-rows.js";

const port = parentPort;
if (port) {
  const opts: VerifyOptions = verifyOptionsFromClone(workerData as VerifyOptions);
  port.on("message", (batch: RowBatch) => {
    try {
      answer(batch);
    } catch (err) {
      // The main thread verifies this batch itself (and so meets the same error where it can report it).
      port.postMessage({ id: batch.id, error: String((err as Error)?.stack ?? err) });
    }
  });
  const answer = (batch: RowBatch) => {
    const bytes = new Uint8Array(batch.bytes);
    const n = batch.ids.length;
    const leaves = batch.leaves ? new Uint8Array(32 * n) : null;
    const failures: RowBatchAnswer["failures"] = [];
    for (let i = 0; i < n; i++) {
      const row = {
        contextId: batch.ids[i] as string,
        recordHash: batch.hashes[i] as string,
        canonicalBytes: bytes.subarray((batch.offsets[i] as number) + 1, batch.offsets[i + 1]),
        createdAt: "",
      };
      if (leaves) leaves.set(prefixedLeafHash(bytes.subarray(batch.offsets[i], batch.offsets[i + 1])), 32 * i);
      const result = verifyRawLedgerRow(row, opts, true);
      if (!result.ok) failures.push([i, result]);
    }
    const reply: RowBatchAnswer = { id: batch.id, failures, leaves };
    port.postMessage(reply, leaves ? [leaves.buffer] : []);
  };
  port.postMessage({ ready: true });
}
