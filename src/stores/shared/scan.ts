// `RecordStore.scan` for any store that can list in pages: every row in created_at order, in batches, by cursor.
import type { LedgerRow, RecordFilter } from "../types.js";

export async function* scanByCursor(list: (filter: RecordFilter) => Promise<LedgerRow[]>, batchSize: number): AsyncIterable<LedgerRow[]> {
  let cursor: string | undefined;
  for (;;) {
    const batch = await list({ order: "asc", limit: batchSize, cursor });
    if (batch.length === 0) return;
    yield batch;
    if (batch.length < batchSize) return;
    cursor = batch[batch.length - 1]?.contextId;
  }
}
