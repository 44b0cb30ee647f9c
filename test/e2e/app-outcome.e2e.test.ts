// A small app as a new user writes one: it assembles a context and records a hand-built prompt (a receipt) with
// fabra, calls a local OpenAI-compatible server through the real `openai` SDK wrapped by fabra/openai (the built
// package), and exits; afterwards `fabra context show <id>` (another process, the built CLI) shows the record and the
// linked outcome, as text and as JSON (the record byte for byte, the outcome as GET /v1/contexts/:id/outcomes gives it).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { project, ROOT } from "../helpers/cli.js";
import { startChatServer, type ChatServer } from "../helpers/chat-server.js";

const url = (path: string): string => pathToFileURL(path).href;
const OPENAI = url(createRequire(join(ROOT, "package.json")).resolve("openai"));

const APP = `
import OpenAI from ${JSON.stringify(OPENAI)};
import { context, createFabra } from ${JSON.stringify(url(join(ROOT, "dist", "index.js")))};
import { chatCompletionParams, withContext } from ${JSON.stringify(url(join(ROOT, "dist", "adapters", "openai.js")))};

const support = context({}, ({ q }) => [
  { content: "You answer support questions.", role: "system" },
  { content: q, role: "user" },
]);
const fabra = await createFabra({
  stores: { offline: { type: "duckdb", path: "fabra.duckdb" } },
  definitions: { support },
  warn: () => {},
});
const client = new OpenAI({ apiKey: "test-key", baseURL: process.env.CHAT_URL, maxRetries: 0 });
try {
  const ctx = await support({ q: "How do I reset my password?" });
  const completion = await withContext(fabra, ctx, () =>
    client.chat.completions.create(chatCompletionParams(ctx, { model: "gpt-4o-mini" })),
  );
  const receipt = await fabra.record({
    contextFunction: "handBuiltPrompt",
    messages: [
      { role: "system", content: "Answer in one line." },
      { role: "user", content: "Where is the sign-in page?" },
    ],
    inputs: { userId: "u_1" },
  });
  const answer = await withContext(fabra, receipt, () =>
    client.chat.completions.create(chatCompletionParams(receipt, { model: "gpt-4o" })),
  );
  console.log(JSON.stringify({ assembled: ctx.id, receipt: receipt.id, responses: [completion.id, answer.id] }));
} finally {
  await fabra.close();
}
`;

let server: ChatServer;
beforeAll(async () => {
  server = await startChatServer();
});
afterAll(async () => {
  await server?.close();
});

describe("an app's model call, shown by the CLI", () => {
  const box = project(
    "fabra-app-e2e-",
    {
      "fabra.config.ts": `export default { stores: { offline: { type: "duckdb", path: "fabra.duckdb" } } };\n`,
    },
    {},
    { inProcess: true },
  );

  it("context show lists the record and its linked outcome, as text and as JSON", async () => {
    writeFileSync(join(box.dir, "app.mjs"), APP);
    const app = await execa("node", ["app.mjs"], {
      cwd: box.dir,
      env: { ...box.env, CHAT_URL: server.baseUrl },
      reject: false,
    });
    expect(app.exitCode, app.stderr).toBe(0);
    const ids = JSON.parse(app.stdout) as { assembled: string; receipt: string; responses: string[] };
    expect(server.requests.map((r) => r.body.model)).toEqual(["gpt-4o-mini", "gpt-4o"]);

    for (const [id, model, response] of [
      [ids.assembled, "gpt-4o-mini", ids.responses[0]],
      [ids.receipt, "gpt-4o", ids.responses[1]],
    ] as const) {
      const text = await box.run(["context", "show", id]);
      expect(text.exitCode, text.stderr).toBe(0);
      expect(text.stdout).toContain(id);
      expect(text.stdout).toContain("Outcomes (1)");
      expect(text.stdout).toContain(`model "${model}"`);
      expect(text.stdout).toContain(`response "${response}"`);
      expect(text.stdout).toContain(JSON.stringify(server.reply));

      const json = await box.run(["context", "show", id, "--format", "json"]);
      expect(json.exitCode, json.stderr).toBe(0);
      const shown = JSON.parse(json.stdout) as {
        context_id: string;
        record: { context_id: string; integrity: { record_hash: string } };
        outcomes: Record<string, unknown>[];
      };
      expect(shown.context_id).toBe(id);
      expect(shown.record.context_id).toBe(id);
      // The record member is the stored canonical text itself, byte for byte (what export writes, less its newline).
      const exported = await box.run(["context", "export", id]);
      expect(json.stdout).toContain(`"record":${exported.stdout.trimEnd()},"outcomes":`);
      expect(shown.outcomes).toHaveLength(1);
      expect(shown.outcomes[0]).toMatchObject({
        context_id: id,
        provider: "openai",
        response_id: response,
        model,
        usage: { input_tokens: 21, output_tokens: 5, total_tokens: 26 },
        finish_reason: "stop",
        output_text: server.reply,
        error: null,
      });
      expect(shown.outcomes[0]?.entry_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(Object.keys(shown.outcomes[0] as object).sort()).toEqual(
        [
          "context_id",
          "entry_hash",
          "error",
          "finish_reason",
          "latency_ms",
          "model",
          "outcome_id",
          "output_hash",
          "output_text",
          "provider",
          "recorded_at",
          "response_id",
          "usage",
        ].sort(),
      );
      // Linking the outcome did not touch the record.
      expect((await box.run(["context", "verify", id])).exitCode).toBe(0);
    }
  }, 60_000);

  it("a record with no outcome shows an empty list", async () => {
    const plain = join(ROOT, "test", "fixtures", "crs-001", "plain.json");
    expect((await box.run(["context", "import", plain])).exitCode).toBe(0);
    const json = await box.run(["context", "show", "ctx_0190a1b2-0000-7000-8000-000000000001", "--format", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      outcomes: [],
      record: { context_id: "ctx_0190a1b2-0000-7000-8000-000000000001" },
    });
  });
});
