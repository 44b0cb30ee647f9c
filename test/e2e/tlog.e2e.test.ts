// The transparency log from the command line (TLOG-001): keygen, signed checkpoints, `ledger verify --since` of a
// saved checkpoint, offline inclusion proofs; and, as an attacker would, deleting and rewriting records in the
// DuckDB file: each is reported by `ledger verify --since`, naming the record, exit 1.
import { statSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { VECTORS, project } from "../helpers/cli.js";

const VEC = ["plain.json", "empty_content.json", "features_unicode_numbers.json", "retrieval_drops_signed.json"];

async function sql(file: string, ...statements: string[]): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(file);
  const c = await instance.connect();
  let rows: Record<string, unknown>[] = [];
  try {
    for (const s of statements) rows = (await c.runAndReadAll(s)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  return rows;
}

describe("fabra ledger (transparency log)", () => {
  const box = project(
    "fabra-tlog-e2e-",
    {
      "fabra.config.json": JSON.stringify({
        project: "tlog-e2e",
        ledger: { keyFile: "ledger.key" },
        stores: { offline: { type: "duckdb", path: "fabra.duckdb" } },
      }),
    },
    {},
    { inProcess: true },
  );
  const db = join(box.dir, "fabra.duckdb");
  let verifierKey = "";
  let ids: string[] = [];

  beforeAll(async () => {
    const keygen = await box.run(["ledger", "keygen", "-o", "ledger.key", "--format", "json"]);
    expect(keygen.exitCode, keygen.stderr).toBe(0);
    const out = JSON.parse(keygen.stdout) as { verifier_key: string; key_file: string };
    verifierKey = out.verifier_key;
    expect(out.key_file).toBe(join(box.dir, "ledger.key"));
    const imported = await box.run(["context", "import", ...VEC.slice(0, 2).map((v) => join(VECTORS, v))]);
    expect(imported.exitCode, imported.stderr).toBe(0);
  }, 60_000);

  it("keygen writes a 0600 signer key named after the project, never over an existing one", async () => {
    expect(statSync(join(box.dir, "ledger.key")).mode & 0o777).toBe(0o600);
    expect(verifierKey).toMatch(/^fabra\/tlog-e2e\/development\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    const again = await box.run(["ledger", "keygen", "-o", "ledger.key"]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it("signs checkpoints, proves append-only growth, and checks proofs offline; tampering is named", async () => {
    const cp = await box.run(["ledger", "checkpoint", "-o", "cp2.txt", "--format", "json"]);
    expect(cp.exitCode, cp.stderr).toBe(0);
    const head = JSON.parse(cp.stdout) as { checkpoint: string; tree_size: number; root_hash: string };
    expect(head.tree_size).toBe(2);
    expect(head.checkpoint).toBe(
      `fabra/tlog-e2e/development\n2\n${head.root_hash}\n\n${head.checkpoint.split("\n\n")[1]}`,
    );
    expect(head.checkpoint.split("\n\n")[1]).toMatch(/^— fabra\/tlog-e2e\/development [A-Za-z0-9+/]+=*\n$/);

    const more = await box.run(["context", "import", ...VEC.slice(2).map((v) => join(VECTORS, v))]);
    expect(more.exitCode, more.stderr).toBe(0);
    const good = await box.run(["ledger", "verify", "--since", "cp2.txt", "--key", verifierKey]);
    expect(good.exitCode, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(/4 records verified; log of 4 leaves/);
    expect(good.stdout).toMatch(/append-only since the trusted checkpoint of 2 leaves/);

    // a checkpoint signed by another key is refused
    const other = await box.run(["ledger", "keygen", "-o", "other.key", "--format", "json"]);
    const otherKey = (JSON.parse(other.stdout) as { verifier_key: string }).verifier_key;
    const wrongKey = await box.run(["ledger", "verify", "--since", "cp2.txt", "--key", otherKey]);
    expect(wrongKey.exitCode).toBe(1);

    const leaves = await sql(db, "SELECT leaf_index, context_id FROM fabra_tlog_leaves ORDER BY leaf_index");
    ids = leaves.map((l) => String(l.context_id));
    expect(ids).toHaveLength(4);

    // an offline inclusion proof
    const target = ids[1] as string;
    expect((await box.run(["context", "prove", target, "-o", "proof.json"])).exitCode).toBe(0);
    expect((await box.run(["context", "export", target, "-o", "rec.json"])).exitCode).toBe(0);
    expect((await box.run(["context", "export", ids[2] as string, "-o", "other.json"])).exitCode).toBe(0);
    const proved = await box.run([
      "context",
      "verify",
      "--file",
      "rec.json",
      "--proof",
      "proof.json",
      "--key",
      verifierKey,
    ]);
    expect(proved.exitCode, proved.stdout + proved.stderr).toBe(0);
    expect(proved.stdout).toMatch(/in the log: leaf 1 of 4/);
    const notThis = await box.run([
      "context",
      "verify",
      "--file",
      "other.json",
      "--proof",
      "proof.json",
      "--key",
      verifierKey,
    ]);
    expect(notThis.exitCode).toBe(1);
    const byOther = await box.run([
      "context",
      "verify",
      "--file",
      "rec.json",
      "--proof",
      "proof.json",
      "--key",
      otherKey,
    ]);
    expect(byOther.exitCode).toBe(1);

    // deleting a record (DuckDB has no triggers) is named
    const backup = await sql(db, `SELECT * FROM fabra_context_records WHERE context_id = '${ids[0]}'`);
    expect(backup).toHaveLength(1);
    await sql(db, `DELETE FROM fabra_context_records WHERE context_id = '${ids[0]}'`);
    const deleted = await box.run(["ledger", "verify", "--since", "cp2.txt", "--key", verifierKey]);
    expect(deleted.exitCode).toBe(1);
    expect(deleted.stdout).toContain(`${ids[0]}: record at leaf 0 was deleted from the ledger`);

    // ...and so is deleting it and rebuilding the whole log to hide it: the saved checkpoint no longer matches
    await sql(db, "DELETE FROM fabra_tlog_leaves", "DELETE FROM fabra_tlog_nodes");
    const rebuilt = await box.run(["ledger", "verify", "--since", "cp2.txt", "--key", verifierKey]);
    expect(rebuilt.exitCode).toBe(1);
    expect(rebuilt.stdout).toMatch(/first 2 leaves no longer hash to the trusted checkpoint's root/);
  }, 180_000);

  it("reports a record rewritten in place (re-sealed or not) by id", async () => {
    const box2 = project(
      "fabra-tlog-e2e-rewrite-",
      {
        "fabra.config.json": JSON.stringify({
          ledger: { keyFile: "ledger.key" },
          stores: { offline: { type: "duckdb", path: "fabra.duckdb" } },
        }),
      },
      {},
      { inProcess: true },
    );
    expect((await box2.run(["ledger", "keygen", "-o", "ledger.key"])).exitCode).toBe(0);
    expect((await box2.run(["context", "import", ...VEC.map((v) => join(VECTORS, v))])).exitCode).toBe(0);
    expect((await box2.run(["ledger", "checkpoint", "-o", "cp.txt"])).exitCode).toBe(0);
    const file = join(box2.dir, "fabra.duckdb");
    const [leaf] = await sql(file, "SELECT context_id FROM fabra_tlog_leaves WHERE leaf_index = 3");
    const id = String(leaf?.context_id);
    // the same bytes with a different id's record swapped in (a valid, sealed record at this leaf's row)
    const [other] = await sql(file, "SELECT context_id FROM fabra_tlog_leaves WHERE leaf_index = 2");
    await sql(
      file,
      `UPDATE fabra_context_records SET canonical_text = (SELECT canonical_text FROM fabra_context_records WHERE context_id = '${other?.context_id}') WHERE context_id = '${id}'`,
    );
    const result = await box2.run(["ledger", "verify", "--since", "cp.txt"]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(`${id}: record at leaf 3 was rewritten after it entered the log`);
  }, 120_000);
});
