// Documents for `fabra index add`: ids relative to the project root whatever the working directory, binary refused.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readDocumentSet, readDocuments } from "../../src/engine/retrieval/documents.js";
import { tempDir } from "../helpers/temp.js";

describe("readDocuments", () => {
  const parent = tempDir("fabra-docs-");
  const root = join(parent, "my-bot");
  mkdirSync(join(root, "docs", "sub"), { recursive: true });
  writeFileSync(join(root, "docs", "a.md"), "\uFEFFalpha");
  writeFileSync(join(root, "docs", "sub", "b.txt"), "beta");
  writeFileSync(join(root, "docs", "image.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(root, "notes"), "plain text without an extension");
  writeFileSync(join(root, "bin.dat"), Buffer.from([0x00, 0x01, 0x02]));
  writeFileSync(join(root, "docs.json"), Buffer.from([0x7b, 0xff, 0x7d])); // not UTF-8

  it("gives the same ids from the project root and from another directory", async () => {
    const fromRoot = await readDocuments(["docs"], root, root);
    const fromParent = await readDocuments(["my-bot/docs"], parent, root);
    expect(fromRoot.map((d) => d.id)).toEqual(["docs/a.md", "docs/sub/b.txt"]);
    expect(fromParent).toEqual(fromRoot);
    expect(fromRoot[0]?.content).toBe("alpha"); // a byte-order mark is not content
    expect(fromRoot[0]?.sourceUrl).toMatch(/^file:\/\/.*\/my-bot\/docs\/a\.md$/);
  });

  it("reads an explicitly named text file of any extension, and refuses binary ones naming them", async () => {
    expect((await readDocuments(["notes"], root, root))[0]).toMatchObject({
      id: "notes",
      content: "plain text without an extension",
    });
    await expect(readDocuments(["my-bot/bin.dat"], parent, root)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: "my-bot/bin.dat is not a text file (its bytes are not UTF-8 text)",
    });
    await expect(readDocuments(["docs.json"], root, root)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("docs.json is not a text file"),
    });
    await expect(readDocuments(["nope"], root, root)).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
  });
});

describe("readDocumentSet", () => {
  const parent = tempDir("fabra-docs-");
  const root = join(parent, "bot");
  mkdirSync(join(root, "docs"), { recursive: true });
  writeFileSync(
    join(root, "docs", "refunds.html"),
    '<html><head><style>p{color:red}</style><script>var x = "<b>";</script></head><body><h1>Refunds &amp; returns</h1><p>Ask within <b>30</b>&nbsp;days &#8212; or &#x263A;.</p><!-- hidden --></body></html>',
  );
  writeFileSync(join(root, "docs", "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(parent, "outside.md"), "outside");

  it("says which files of a directory it skipped, indexes HTML as its text, ids outside the project absolute", async () => {
    const set = await readDocumentSet(["docs", "../outside.md"], root, root);
    expect(set.skipped).toEqual([join("docs", "logo.png")]);
    const html = set.documents.find((d) => d.id === "docs/refunds.html");
    expect(html?.content).toBe("Refunds & returns\n\nAsk within 30 days — or ☺.");
    expect(set.documents.map((d) => d.id)).toContain(join(parent, "outside.md").split("\\").join("/"));
    expect(set.documents.some((d) => d.id.startsWith(".."))).toBe(false);
  });
});
