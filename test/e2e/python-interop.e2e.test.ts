// Records fabra writes, checked by an independent Python 3 verifier (test/interop/python/crs001_verify.py, standard
// library only, written from CRS-001 and the reference notes the way the Python implementation verifies): receipts
// for hand-built prompts (content, messages, features and chunks), assembled contexts (with messages), signed and
// unsigned. An app writes them (the built package, in its own process), `fabra context export` writes each file as
// a user would, and python3 recomputes both hashes and the HMAC signature. Tampering and a wrong key fail there too.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { type InProcessSandbox, project, ROOT } from "../helpers/cli.js";

const VERIFIER = join(ROOT, "test", "interop", "python", "crs001_verify.py");
const KEY = "hex:00112233445566778899aabbccddeeff";
const url = (path: string): string => pathToFileURL(path).href;

const APP = `
import { context, createFabra } from ${JSON.stringify(url(join(ROOT, "dist", "index.js")))};

const plain = context({}, ({ q }) => [{ content: "Answer briefly.\\n" + q }]);
const chat = context({}, ({ q }) => [
  { content: "You answer support questions. Café — naïve ✓ 😀", role: "system" },
  { content: q, role: "user" },
]);
const fabra = await createFabra({
  stores: { offline: { type: "duckdb", path: "fabra.duckdb" } },
  definitions: { plain, chat },
  warn: () => {},
});
try {
  const ids = {};
  ids.assembled = (await plain({ q: "How do I reset my password?" })).id;
  ids.assembledMessages = (await chat({ q: "Where is the \\"sign-in\\" page?\\tThanks" })).id;
  ids.receiptContent = (await fabra.record({ contextFunction: "handBuilt", content: "Built by hand: 12.0 ≠ 12", inputs: { n: 12.5, big: 12345678901234567890n, nested: { z: [1, 2.25, null], a: true } } })).id;
  ids.receiptMessages = (await fabra.record({
    contextFunction: "handBuiltChat",
    messages: [
      { role: "system", content: "Answer in one line." },
      { role: "user", content: "Where is the sign-in page? 👋" },
      { role: "assistant", content: "Top right." },
      { role: "user", content: "Thanks" },
    ],
    inputs: { userId: "u_1" },
    features: [{ name: "tier", entityId: "u_1", value: { plan: "pro", seats: 3, ratio: 0.75 }, asOf: "2026-03-01T09:15:00+05:30" }],
    chunks: [{
      chunkId: "c1", documentId: "d1", content: "Sign in at the top right.", similarity: 1, sourceUrl: null,
      tokenCount: 7, indexedAt: "2026-03-01T09:00:00Z", contentHash: "sha256:" + "0".repeat(64), retriever: "docs", index: "docs",
    }],
  })).id;
  console.log(JSON.stringify(ids));
} finally {
  await fabra.close();
}
`;

interface PyResult {
  file: string;
  context_id: string;
  ok: boolean;
  content_hash: string;
  record_hash: string;
  signature: string;
}

async function python(args: string[]): Promise<{ exitCode: number; results: PyResult[]; stderr: string }> {
  const run = await execa("python3", [VERIFIER, ...args], { reject: false });
  const results = run.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as PyResult);
  return { exitCode: run.exitCode ?? -1, results, stderr: String(run.stderr) };
}

/** An app run in `box` (signing with `env`), each record exported by the CLI: the files' paths by name. */
async function writeAndExport(box: InProcessSandbox, env: Record<string, string>): Promise<Record<string, string>> {
  writeFileSync(join(box.dir, "app.mjs"), APP);
  const app = await execa("node", ["app.mjs"], { cwd: box.dir, env: { ...box.env, ...env }, reject: false });
  expect(app.exitCode, app.stderr).toBe(0);
  const ids = JSON.parse(app.stdout) as Record<string, string>;
  const files: Record<string, string> = {};
  for (const [name, id] of Object.entries(ids)) {
    const file = join(box.dir, `${name}.json`);
    const exported = await box.run(["context", "export", id, "-o", file], { env });
    expect(exported.exitCode, exported.stderr).toBe(0);
    files[name] = file;
  }
  return files;
}

const CONFIG = {
  "fabra.config.ts": `export default { stores: { offline: { type: "duckdb", path: "fabra.duckdb" } } };\n`,
};

describe("records fabra writes verify under the Python verifier", () => {
  it("signed: receipts (content; messages, features, chunks) and assemblies (text; messages), signature checked", async () => {
    const box = project("fabra-py-signed-", CONFIG, {}, { inProcess: true });
    const env = { FABRA_SIGNING_KEY: KEY, FABRA_SIGNING_KEY_ID: "k1" };
    const files = await writeAndExport(box, env);
    const paths = Object.values(files);
    const signed = await python(["--key", KEY, ...paths]);
    expect(signed.exitCode, JSON.stringify(signed)).toBe(0);
    expect(signed.results).toHaveLength(4);
    for (const r of signed.results)
      expect(r).toMatchObject({ ok: true, content_hash: "ok", record_hash: "ok", signature: "ok" });
    // The messages receipt holds what this test meant it to: a feature, a chunk, non-ASCII and a datetime given with an offset.
    const receipt = JSON.parse(readFileSync(files.receiptMessages as string, "utf8"));
    expect(receipt.features[0].as_of).toBe("2026-03-01T03:45:00Z"); // given as 09:15:00+05:30, stored in UTC
    expect(receipt.retrieved_items).toHaveLength(1);
    expect(receipt.integrity.signing_key_id).toBe("k1");

    // A wrong key: the hashes still verify, the signature does not.
    const wrong = await python(["--key", "another secret", ...paths]);
    expect(wrong.exitCode).toBe(1);
    for (const r of wrong.results) expect(r).toMatchObject({ ok: false, record_hash: "ok", signature: "mismatch" });

    // Tampered content: refused.
    const text = readFileSync(files.assembled as string, "utf8");
    const tampered = join(box.dir, "tampered.json");
    writeFileSync(tampered, text.replace("reset my password", "reset my passw0rd"));
    const t = await python(["--key", KEY, tampered]);
    expect(t.exitCode).toBe(1);
    expect(t.results[0]).toMatchObject({ ok: false, content_hash: "mismatch", record_hash: "mismatch" });
  }, 60_000);

  it("unsigned: the same records verify, with the signature absent", async () => {
    const box = project("fabra-py-unsigned-", CONFIG, {}, { inProcess: true });
    const files = await writeAndExport(box, {});
    const result = await python(Object.values(files));
    expect(result.exitCode, JSON.stringify(result)).toBe(0);
    for (const r of result.results)
      expect(r).toMatchObject({ ok: true, content_hash: "ok", record_hash: "ok", signature: "absent" });
  }, 60_000);

  it("the verifier itself agrees with the Python golden vectors (the implementation's own formulas)", async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "compat", "manifest.json"), "utf8")) as {
      name: string;
      ok: boolean;
      record_hash: string;
    }[];
    const files = manifest.map((m) => join(ROOT, "test", "fixtures", "compat", `${m.name}.export.json`));
    const result = await python(files);
    for (const [i, m] of manifest.entries()) {
      const r = result.results[i] as PyResult;
      // The hashes are what the Python formulas gave; signatures are checked with their keys in the compat tests.
      expect({ name: m.name, hashes: r.content_hash === "ok" && r.record_hash === "ok" }).toEqual({
        name: m.name,
        hashes: true,
      });
    }
  });
});
