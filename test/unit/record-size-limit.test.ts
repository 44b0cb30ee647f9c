// A record file over the size limit is refused before it is read (memory stays bounded): verify and import say
// how big it is, what the limit is, and that nothing was read or imported.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/engine/ledger/ledger.js";
import { DEFAULT_MAX_RECORD_BYTES, readRecordFile } from "../../src/engine/ledger/record-files.js";
import { openRecordStore } from "../../src/stores/index.js";

const dir = mkdtempSync(join(tmpdir(), "fabra-size-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse file of `bytes` starting like a record (no memory or disk used for the rest). */
function bigFile(name: string, bytes: number): string {
  const path = join(dir, name);
  const fd = openSync(path, "w");
  writeSync(fd, '{"schema_version": "1.0.0", "content": "');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  return path;
}

describe("the record size limit", () => {
  it("refuses a file over 64 MiB by default before reading it, fast and without the memory", async () => {
    const path = bigFile("huge.json", DEFAULT_MAX_RECORD_BYTES + 1);
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    const err = await readRecordFile(path).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(32 * 1024 * 1024);
    expect(err).toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      message: expect.stringMatching(
        /huge\.json is 64\.0 MiB \(67108865 bytes\), over the record size limit of 64\.0 MiB .*not read/,
      ),
    });
  });

  it("verify and import through the Ledger refuse it too; nothing is imported", async () => {
    const store = await openRecordStore({
      stores: { offline: { type: "duckdb", path: ":memory:" }, online: { type: "memory" }, vector: { type: "memory" } },
    });
    try {
      const ledger = new Ledger({ records: () => store, signing: () => ({ mode: "off", key: null }) });
      const path = bigFile("huge2.json", DEFAULT_MAX_RECORD_BYTES + 10);
      await expect(ledger.verifyFile(path)).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
      await expect(ledger.import([path])).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
      expect(await store.count()).toBe(0);
    } finally {
      await store.close();
    }
  });
});
