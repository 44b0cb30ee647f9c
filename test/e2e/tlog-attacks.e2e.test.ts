// `fabra ledger verify --since <saved checkpoint>` against an attacker with write access to the database, on the
// DuckDB file and on Postgres (where the attacker first disables the append-only triggers, as a table owner can):
// deleting a record, rewriting it, re-sealing a rewritten record (valid hashes), stripping a signature (re-sealed),
// and reordering the log's leaves. Each is reported naming the record, exit 1; each is undone before the next, and the
// intact ledger verifies again (exit 0).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealRecord } from "../../src/record/seal.js";
import { readRecordText } from "../../src/record/verify.js";
import { project, VECTORS } from "../helpers/cli.js";
import { dropSchema, POSTGRES_URL, postgresUp, uniqueName } from "../helpers/services.js";

const VEC = ["plain.json", "empty_content.json", "features_unicode_numbers.json", "retrieval_drops_signed.json"];

/** Runs statements as the attacker: `$1`-style parameters, the last statement's rows. */
type Sql = (statements: [string, unknown[]?][]) => Promise<Record<string, unknown>[]>;

interface Backend {
  name: string;
  stores: () => Record<string, unknown>;
  sql: (dir: string) => Sql;
  /** Around the attacker's statements (Postgres: the append-only triggers off). */
  tamper: (table: string) => [string, string];
  setup?: () => Promise<void>;
  teardown?: () => Promise<void>;
}

const duckSql =
  (dir: string): Sql =>
  async (statements) => {
    const instance = await DuckDBInstance.create(join(dir, "fabra.duckdb"));
    const c = await instance.connect();
    let rows: Record<string, unknown>[] = [];
    try {
      for (const [s, p] of statements)
        rows = (await c.runAndReadAll(s, (p ?? []) as never)).getRowObjectsJS() as Record<string, unknown>[];
    } finally {
      c.closeSync();
      instance.closeSync();
    }
    return rows;
  };

const schema = uniqueName();
const pgSql = (): Sql => async (statements) => {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  let rows: Record<string, unknown>[] = [];
  try {
    await client.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
    for (const [s, p] of statements) rows = (await client.query(s, p ?? [])).rows;
  } finally {
    await client.end();
  }
  return rows;
};

const BACKENDS: Backend[] = [
  {
    name: "duckdb",
    stores: () => ({ offline: { type: "duckdb", path: "fabra.duckdb" } }),
    sql: duckSql,
    tamper: () => ["SELECT 1", "SELECT 1"],
  },
  {
    name: "postgres",
    stores: () => ({ offline: { type: "postgres", url: POSTGRES_URL, schema } }),
    sql: pgSql,
    tamper: (table) => [`ALTER TABLE ${table} DISABLE TRIGGER USER`, `ALTER TABLE ${table} ENABLE TRIGGER USER`],
    teardown: () => dropSchema(POSTGRES_URL, schema),
  },
];

const pgUp = await postgresUp();

/** A vector's record changed and sealed again: valid hashes, other bytes (`strip`: only the signature removed). */
function resealed(file: string, strip: boolean): { text: string; hash: string } {
  const base = readRecordText(readFileSync(join(VECTORS, file), "utf8"));
  const changed = strip ? base : { ...base, content: `${base.content} (edited)` };
  const { record, canonicalText } = sealRecord({
    ...changed,
    integrity: { ...changed.integrity, record_hash: "", content_hash: "", signature: null, signed_at: null },
  });
  return { text: canonicalText, hash: record.integrity.record_hash };
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.name === "postgres" && !pgUp)(`ledger verify names the record: ${backend.name}`, () => {
    const box = project(
      `fabra-tlog-attack-${backend.name}-`,
      {
        "fabra.config.json": JSON.stringify({ ledger: { keyFile: "ledger.key" }, stores: backend.stores() }),
      },
      {},
      { inProcess: true },
    );
    const sql = backend.sql(box.dir);
    const ids: string[] = [];
    const texts = new Map<string, string>();
    const hashes = new Map<string, string>();
    const verify = () => box.run(["ledger", "verify", "--since", "cp.txt"]);

    beforeAll(async () => {
      if (backend.name === "postgres") expect((await box.run(["migrate"])).exitCode).toBe(0);
      expect((await box.run(["ledger", "keygen", "-o", "ledger.key"])).exitCode).toBe(0);
      const imported = await box.run(["context", "import", ...VEC.map((v) => join(VECTORS, v))]);
      expect(imported.exitCode, imported.stderr).toBe(0);
      const cp = await box.run(["ledger", "checkpoint", "-o", "cp.txt"]);
      expect(cp.exitCode, cp.stderr).toBe(0);
      for (const r of await sql([
        [
          "SELECT l.context_id, r.canonical_text, r.record_hash FROM fabra_tlog_leaves l JOIN fabra_context_records r ON r.context_id = l.context_id ORDER BY l.leaf_index",
        ],
      ])) {
        const id = String(r.context_id);
        ids.push(id);
        texts.set(id, String(r.canonical_text));
        hashes.set(id, String(r.record_hash));
      }
      expect(ids).toHaveLength(4);
      const good = await verify();
      expect(good.exitCode, good.stdout + good.stderr).toBe(0);
    }, 120_000);
    afterAll(async () => {
      await backend.teardown?.();
    });

    const [off, on] = backend.tamper("fabra_context_records");
    const [offLog, onLog] = backend.tamper("fabra_tlog_leaves");

    /** Replaces a record row's text (and record_hash column) as the attacker, runs verify, puts the row back. */
    async function rewritten(id: string, text: string, hash: string) {
      const update = "UPDATE fabra_context_records SET canonical_text = $1, record_hash = $2 WHERE context_id = $3";
      await sql([[off], [update, [text, hash, id]], [on]]);
      try {
        return await verify();
      } finally {
        await sql([[off], [update, [texts.get(id), hashes.get(id), id]], [on]]);
      }
    }

    it("a deleted record", async () => {
      const id = ids[1] as string;
      expect(id).toMatch(/^ctx_[0-9a-f-]+$/); // (a literal below: DDL takes no parameters)
      await sql([
        [`CREATE TABLE attack_saved AS SELECT * FROM fabra_context_records WHERE context_id = '${id}'`],
        [off],
        ["DELETE FROM fabra_context_records WHERE context_id = $1", [id]],
        [on],
      ]);
      const result = await verify();
      await sql([
        [off],
        ["INSERT INTO fabra_context_records SELECT * FROM attack_saved"],
        ["DROP TABLE attack_saved"],
        [on],
      ]);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(`${id}: record at leaf 1 was deleted from the ledger`);
    }, 60_000);

    it("a record rewritten in place (hashes not recomputed)", async () => {
      const id = ids[0] as string;
      const text = (texts.get(id) as string).replace('"content":"', '"content":"X');
      const result = await rewritten(id, text, hashes.get(id) as string);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(`${id}: record at leaf 0 was rewritten after it entered the log`);
    }, 60_000);

    it("a record rewritten and re-sealed (valid hashes)", async () => {
      const id = ids[2] as string;
      const file = VEC.find((v) => readRecordText(readFileSync(join(VECTORS, v), "utf8")).context_id === id);
      const { text, hash } = resealed(file as string, false);
      expect(text).not.toBe(texts.get(id));
      const result = await rewritten(id, text, hash);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(`${id}: record at leaf 2 was rewritten after it entered the log`);
    }, 60_000);

    it("a signature stripped (and the record re-sealed)", async () => {
      const signed = "retrieval_drops_signed.json";
      const id = readRecordText(readFileSync(join(VECTORS, signed), "utf8")).context_id;
      const { text, hash } = resealed(signed, true);
      expect(text).toContain('"signature":null');
      expect(hash).toBe(hashes.get(id)); // a signature never changes the record hash: only the log sees this
      const result = await rewritten(id, text, hash);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(
        `${id}: record at leaf ${ids.indexOf(id)} was rewritten after it entered the log`,
      );
    }, 60_000);

    it("two leaves swapped (the log reordered)", async () => {
      const [a, b] = [ids[0] as string, ids[3] as string];
      const swap = (x: string, y: string) => [
        ["DELETE FROM fabra_tlog_leaves WHERE leaf_index IN (0, 3)"],
        ["INSERT INTO fabra_tlog_leaves (leaf_index, context_id) VALUES (0, $1), (3, $2)", [x, y]],
      ];
      await sql([[offLog], ...(swap(b, a) as [string, unknown[]?][]), [onLog]]);
      const result = await verify();
      await sql([[offLog], ...(swap(a, b) as [string, unknown[]?][]), [onLog]]);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(`${b}: record at leaf 0 was integrated at leaf 3: the log was reordered`);
      expect(result.stdout).toContain(`${a}: record at leaf 3 was integrated at leaf 0: the log was reordered`);
      expect((await verify()).exitCode).toBe(0);
    }, 60_000);
  });
}

describe("ledger verify names a record hidden by a rebuilt log, between two checkpoints fabra signed (DuckDB)", () => {
  it("re-sealed, then the log tables rebuilt: the signed checkpoints kept beside the log bracket it to one leaf", async () => {
    const box = project(
      "fabra-tlog-rebuild-",
      {
        "fabra.config.json": JSON.stringify({
          ledger: { keyFile: "ledger.key" },
          stores: { offline: { type: "duckdb", path: "fabra.duckdb" } },
        }),
      },
      {},
      { inProcess: true },
    );
    const sql = duckSql(box.dir);
    expect((await box.run(["ledger", "keygen", "-o", "ledger.key"])).exitCode).toBe(0);
    // in (created_at, context_id) order: the order a rebuilt log integrates them in
    const key = (f: string) => {
      const r = readRecordText(readFileSync(join(VECTORS, f), "utf8"));
      return `${r.created_at} ${r.context_id}`;
    };
    const files = [...VEC].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    // two records, a checkpoint, a third, a checkpoint
    expect((await box.run(["context", "import", ...files.slice(0, 2).map((f) => join(VECTORS, f))])).exitCode).toBe(0);
    expect((await box.run(["ledger", "checkpoint", "-o", "cp2.txt"])).exitCode).toBe(0);
    expect((await box.run(["context", "import", join(VECTORS, files[2] as string)])).exitCode).toBe(0);
    expect((await box.run(["ledger", "checkpoint", "-o", "cp3.txt"])).exitCode).toBe(0);
    const target = readRecordText(readFileSync(join(VECTORS, files[2] as string), "utf8")).context_id;
    const { text, hash } = resealed(files[2] as string, false);
    await sql([
      [
        "UPDATE fabra_context_records SET canonical_text = $1, record_hash = $2 WHERE context_id = $3",
        [text, hash, target],
      ],
      ["DELETE FROM fabra_tlog_leaves"],
      ["DELETE FROM fabra_tlog_nodes"],
      ["DELETE FROM fabra_tlog_tiles"],
    ]);
    const result = await box.run(["ledger", "verify", "--since", "cp2.txt"]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      `${target}: record at leaf 2 is not the leaf the signed checkpoint of 3 leaves holds there (the checkpoint of 2 still matches)`,
    );
  }, 120_000);
});
