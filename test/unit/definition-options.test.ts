// Definition options are checked by strict zod schemas: a mistyped option is an INVALID_DEFINITION naming the
// definition and the key, with one "did you mean" (src/util/suggest.ts) shared with unknown feature names and
// unknown config keys.
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/resolve.js";
import { addDefinitions, emptyDefinitions } from "../../src/define/collect.js";
import { definitionProblems } from "../../src/engine/definition-checks.js";
import { context, createFabra, entity, feature, retriever } from "../../src/index.js";
import { didYouMean, suggest } from "../../src/util/suggest.js";

const user = entity("user");
const problems = (exports: Record<string, unknown>) =>
  definitionProblems(addDefinitions(emptyDefinitions(), { user, ...exports }, "test"));
const f = (options: Record<string, unknown>) => feature({ entity: user, ...options } as never, () => 1);
const c = (options: unknown) => context(options as never, () => [{ content: "x" }]);

describe("mistyped definition options", () => {
  it.each([
    [
      "feature",
      { f: f({ materialise: true }) },
      "Feature f has no option `materialise`",
      'Did you mean "materialize"?',
    ],
    ["context", { c: c({ maxToken: 100 }) }, "Context c has no option `maxToken`", 'Did you mean "maxTokens"?'],
    [
      "retriever",
      { r: retriever({ index: "kb", topk: 3 } as never) },
      "Retriever r has no option `topk`",
      'Did you mean "topK"?',
    ],
    [
      "context policy",
      { c: c({ freshnesPolicy: "fail" }) },
      "Context c has no option `freshnesPolicy`",
      'Did you mean "freshnessPolicy"?',
    ],
  ])("names the %s and the key, with did you mean", (_, defs, message, hint) => {
    expect(problems(defs)).toEqual([expect.objectContaining({ code: "INVALID_DEFINITION", message, hint })]);
  });

  it("lists the options when no name is close", () => {
    const [problem, ...rest] = problems({ r: retriever({ index: "kb", colour: "red" } as never) });
    expect(rest).toEqual([]);
    expect(problem?.message).toBe("Retriever r has no option `colour`");
    expect(problem?.hint).toBe("The options of a retriever are name, index, topK, minSimilarity.");
  });

  it("reports every unknown key and every bad value of one definition", () => {
    expect(problems({ f: f({ materialise: true, ttl: 0, refrsh: "1h" }) }).map((p) => p.message)).toEqual([
      "Feature f: `ttl` is 0; it must be a duration longer than 0",
      "Feature f has no option `materialise`",
      "Feature f has no option `refrsh`",
    ]);
  });

  it("checks the types of options that had no check before, and options that are not an object", () => {
    expect(problems({ f: f({ description: 5 }) }).map((p) => p.message)).toEqual([
      "Feature f: `description` is 5, not a string",
    ]);
    expect(problems({ c: c("fast") }).map((p) => p.message)).toEqual([
      'Context c: its options are "fast", not an object',
    ]);
    expect(problems({ f: f({ materialize: "yes" }) })).toEqual([
      expect.objectContaining({
        message: 'Feature f: `materialize` is "yes"',
        hint: "Use materialize: true or false.",
      }),
    ]);
  });

  it("is refused when createFabra loads the definitions", async () => {
    await expect(
      createFabra({
        stores: { offline: { type: "duckdb", path: ":memory:" } },
        definitions: { user, f: f({ materialise: true }) },
        warn: () => {},
      }),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: "Feature f has no option `materialise`",
      hint: 'Did you mean "materialize"?',
    });
  });
});

describe("suggest", () => {
  it("finds the closest name, ignoring case, only when it is a likely typo", () => {
    expect(suggest("topk", ["index", "topK"])).toBe("topK");
    expect(suggest("user_teir", ["user_tier", "open_tickets"])).toBe("user_tier");
    expect(suggest("colour", ["index", "topK"])).toBeUndefined();
    expect(suggest("x", [])).toBeUndefined();
    expect(didYouMean("maxToken", ["maxTokens", "model"])).toBe('Did you mean "maxTokens"?');
    expect(didYouMean("zzz", ["maxTokens"])).toBeUndefined();
  });
});

describe("config keys", () => {
  const problem = (config: unknown) => {
    try {
      resolveConfig({ config, configPath: null, rootDir: "/tmp" }, {});
    } catch (err) {
      return err as { code: string; message: string };
    }
    throw new Error("the config was accepted");
  };

  it("names the key meant by a mistyped one, at any depth and in either branch of a union", () => {
    expect(problem({ stors: {} }).message).toMatch(
      /\(top level\): Unrecognized key: "stors" \(Did you mean "stores"\?\)/,
    );
    expect(problem({ stores: { offline: { type: "postgres", poolsize: 3 } } }).message).toMatch(
      /stores\.offline: .*"poolsize".*\(Did you mean "poolSize"\?\)/,
    );
    expect(problem({ server: { bodyLimt: 2048 } }).message).toMatch(/\(Did you mean "bodyLimit"\?\)/);
    expect(problem({ server: { colour: "red" } }).message).not.toMatch(/Did you mean/);
    expect(problem({ stors: {} }).code).toBe("INVALID_CONFIG");
  });
});
