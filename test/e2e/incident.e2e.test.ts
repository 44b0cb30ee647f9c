// The incident desk from the command line: `context explain` at other budgets (drop and backfill, nothing written,
// nothing read that the record does not hold), `context pack` (record, proof, checkpoint, summary.md, diff.patch)
// read back by `context verify --file pack.zip [--key]`, a forged pack refused; a recorded replay of an
// object-valued feature that the content prints reproduces the content (the keys in the order the function saw).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { beforeAll, describe, expect, it } from "vitest";
import { project } from "../helpers/cli.js";

const FEATURES_TS = `
import { context, entity, feature } from "fabra";

export const user = entity("user");
// Key order on purpose: the record keeps { name, tier } (CRS-001 sorts keys); the function saw { tier, name }.
export const profile = feature({ entity: user }, (id: string) => ({ tier: "gold", name: "Ada " + id }));

export const answer = context({ maxTokens: 30 }, async ({ userId }: { userId: string }) => {
  const p = await profile.get(userId);
  return [
    { id: "system", content: "You are a helpful assistant.", priority: 0, required: true },
    { id: "profile", content: "Profile: " + JSON.stringify(p), priority: 1 },
    { id: "history", content: "Earlier the customer asked about invoices, refunds, exports and the API many times.", priority: 2 },
    { id: "tip", content: "Tip: be brief.", priority: 3 },
  ];
});
`;

async function countRecords(db: string): Promise<number> {
  const instance = await DuckDBInstance.create(db);
  const c = await instance.connect();
  try {
    const rows = (await c.runAndReadAll("SELECT count(*) AS n FROM fabra_context_records")).getRowObjectsJS();
    return Number((rows[0] as { n: bigint }).n);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe("context explain / pack / replay key order", () => {
  const box = project(
    "fabra-incident-e2e-",
    {
      "fabra.config.ts": `export default { project: "incident", definitions: ["./features.ts"], ledger: { keyFile: "ledger.key" }, stores: { offline: { type: "duckdb", path: "fabra.duckdb" } } };\n`,
      "features.ts": FEATURES_TS,
    },
    {},
    { inProcess: true },
  );
  const db = join(box.dir, "fabra.duckdb");
  let id = "";
  let baseline = "";
  let verifierKey = "";

  beforeAll(async () => {
    const keygen = await box.run(["ledger", "keygen", "-o", "ledger.key", "--format", "json"]);
    expect(keygen.exitCode, keygen.stderr).toBe(0);
    verifierKey = (JSON.parse(keygen.stdout) as { verifier_key: string }).verifier_key;
    const first = await box.run(["context", "run", "answer", "-i", "userId=u1", "--format", "json"]);
    expect(first.exitCode, first.stderr).toBe(0);
    baseline = (JSON.parse(first.stdout) as { context_id: string }).context_id;
    const second = await box.run(["context", "run", "answer", "-i", "userId=u2", "--format", "json"]);
    expect(second.exitCode, second.stderr).toBe(0);
    id = (JSON.parse(second.stdout) as { context_id: string }).context_id;
  }, 60_000);

  it("explains a record at a larger budget and with backfill, writing nothing", async () => {
    const before = await countRecords(db);
    const larger = await box.run(["context", "explain", id, "--max-tokens", "1000", "--format", "json"]);
    expect(larger.exitCode, larger.stderr).toBe(0);
    const e = JSON.parse(larger.stdout) as {
      reproduces: boolean;
      recorded: { max_tokens: number; used: number; dropped: Record<string, { items: number }> };
      explained: { max_tokens: number; used: number; dropped: Record<string, unknown> };
      items: { key: string; recorded: string; explained: string; tokens: number }[];
    };
    expect(e.reproduces).toBe(true);
    expect(e.recorded.max_tokens).toBe(30);
    expect(e.recorded.used).toBeLessThanOrEqual(30);
    expect(e.explained.dropped).toEqual({});
    const dropped = e.items.filter((i) => i.recorded === "dropped").map((i) => i.key);
    expect(dropped.length).toBeGreaterThan(0);
    expect(e.items.every((i) => i.explained === "kept")).toBe(true);
    expect(e.explained.used).toBeGreaterThan(e.recorded.used);

    expect(dropped.sort()).toEqual(["history", "tip"]);

    // Backfill puts a smaller dropped item back into the room the drops left.
    const backfill = await box.run(["context", "explain", id, "--max-tokens", "30", "--strategy", "backfill"]);
    expect(backfill.exitCode, backfill.stderr).toBe(0);
    expect(backfill.stdout).toMatch(/strategy backfill/);
    expect(backfill.stdout).toMatch(/tip\s+3\s+\d+\s+dropped\s+kept ←/);

    expect(await countRecords(db)).toBe(before);
  });

  it("refuses bad budgets and strategies with exit 2", async () => {
    for (const args of [
      ["--max-tokens", "0"],
      ["--max-tokens", "10", "--strategy", "greedy"],
    ]) {
      const bad = await box.run(["context", "explain", id, ...args]);
      expect(bad.exitCode, bad.stdout).toBe(2);
      expect(bad.stderr).toMatch(/--max-tokens|--strategy/);
    }
  });

  it("packs a record with its proof and a diff, and verify reads the pack back (with and without the key)", async () => {
    const packed = await box.run(["context", "pack", id, "--baseline", baseline, "-o", "ticket.zip"]);
    expect(packed.exitCode, packed.stderr).toBe(0);
    const entries = unzipSync(readFileSync(join(box.dir, "ticket.zip")));
    expect(Object.keys(entries).sort()).toEqual([
      "checkpoint.txt",
      "diff.patch",
      "proof.json",
      "record.json",
      "summary.md",
    ]);
    const exported = await box.run(["context", "export", id]);
    expect(strFromU8(entries["record.json"] as Uint8Array)).toBe(`${exported.stdout.trimEnd()}\n`);
    const summary = strFromU8(entries["summary.md"] as Uint8Array);
    expect(summary).toContain(`# Context record \`${id}\``);
    expect(summary).toMatch(/transparency log: leaf \d+ of \d+/);
    const patch = strFromU8(entries["diff.patch"] as Uint8Array);
    expect(patch).toContain(`--- a/${baseline}/record.json`);
    expect(patch).toContain(`+++ b/${id}/content.txt`);
    expect(patch).toMatch(/^-.*Ada u1/m);
    expect(patch).toMatch(/^\+.*Ada u2/m);

    const plain = await box.run(["context", "verify", "--file", "ticket.zip"]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/verified/);
    expect(plain.stdout).toMatch(/add --key/);
    const withKey = await box.run(["context", "verify", "--file", "ticket.zip", "--key", verifierKey]);
    expect(withKey.exitCode, withKey.stderr + withKey.stdout).toBe(0);
    expect(withKey.stdout).toMatch(/in the log: leaf \d+ of \d+/);
  });

  it("a pack whose record was rewritten fails, and one with a foreign proof fails inclusion", async () => {
    const entries = unzipSync(readFileSync(join(box.dir, "ticket.zip")));
    const forged = strFromU8(entries["record.json"] as Uint8Array).replace("Ada u2", "Eve u2");
    writeFileSync(join(box.dir, "forged.zip"), zipSync({ ...entries, "record.json": strToU8(forged) }));
    const bad = await box.run(["context", "verify", "--file", "forged.zip"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/FAILED|mismatch/i);

    // The baseline's record with this record's proof: the record verifies, its inclusion does not.
    const other = await box.run(["context", "export", baseline]);
    writeFileSync(join(box.dir, "swapped.zip"), zipSync({ ...entries, "record.json": strToU8(other.stdout) }));
    const swapped = await box.run(["context", "verify", "--file", "swapped.zip", "--key", verifierKey]);
    expect(swapped.exitCode).toBe(1);
    expect(swapped.stdout).toMatch(/inclusion proof FAILED/);

    writeFileSync(join(box.dir, "junk.zip"), Buffer.from("PK\u0003\u0004 not really a zip"));
    const junk = await box.run(["context", "verify", "--file", "junk.zip"]);
    expect(junk.exitCode).toBe(2);
    expect(junk.stderr).toMatch(/not a readable zip/);
  });

  it("a recorded replay hands object-valued features in the order the function saw them", async () => {
    const replay = await box.run(["context", "replay", id, "--format", "json"]);
    expect(replay.exitCode, replay.stderr).toBe(0);
    const r = JSON.parse(replay.stdout) as { same_content: boolean; content: string };
    expect(r.content).toContain('Profile: {"tier":"gold","name":"Ada u2"}');
    expect(r.same_content).toBe(true);
  });
});
