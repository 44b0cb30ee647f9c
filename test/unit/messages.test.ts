// Messages: items with roles become chat messages in the order returned, and the record's content is their
// documented serialization, so content_hash commits to the messages.
import { afterEach, describe, expect, it } from "vitest";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { messagesOfContent, serializeMessages } from "../../src/engine/context/messages.js";
import { contentHash } from "../../src/record/hash.js";
import { verifyRecord } from "../../src/record/index.js";
import { tempFile } from "../helpers/temp.js";

const open: FabraRuntime[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

async function makeFabra(definitions: Record<string, unknown>) {
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: tempFile("fabra-messages-", "fabra.duckdb") } },
    definitions,
    warn: () => {},
  });
  open.push(fabra);
  return fabra;
}

describe("messages", () => {
  it("groups included items by role in returned order and commits content_hash to their serialization", async () => {
    const chat = context({ maxTokens: 40 }, ({ q }: { q: string }) => [
      { content: "You are helpful.", role: "system" as const, required: true },
      { content: "Doc: resets are on the sign-in page.", priority: 2 },
      { content: "A very long optional document that will not fit ".repeat(20), priority: 9 },
      { content: q, role: "user" as const, priority: 1, required: true },
    ]);
    await makeFabra({ chat });
    const result = await chat({ q: "How do I reset?" });
    expect(result.messages).toEqual([
      { role: "system", content: "You are helpful.\nDoc: resets are on the sign-in page." },
      { role: "user", content: "How do I reset?" },
    ]);
    expect(result.content).toBe(
      '[{"role":"system","content":"You are helpful.\\nDoc: resets are on the sign-in page."},{"role":"user","content":"How do I reset?"}]',
    );
    expect(result.record.content).toBe(result.content);
    expect(result.record.integrity.content_hash).toBe(contentHash(serializeMessages(result.messages)));
    expect(verifyRecord(result.record).ok).toBe(true);
    expect(messagesOfContent(result.content)).toEqual(result.messages);
  });

  it("keeps content as the joined text without roles, offered as one system message", async () => {
    const plain = context({}, () => [{ content: "a" }, { content: "b" }]);
    await makeFabra({ plain });
    const result = await plain({});
    expect(result.content).toBe("a\nb");
    expect(result.messages).toEqual([{ role: "system", content: "a\nb" }]);
    expect(messagesOfContent("a\nb")).toEqual(result.messages);
  });

  it("refuses an unknown role with a hint", async () => {
    const bad = context({}, () => [{ content: "x", role: "robot" as never }]);
    await makeFabra({ bad });
    await expect(bad({})).rejects.toMatchObject({ code: "INVALID_ARGUMENT", hint: expect.stringContaining("system") });
  });
});
