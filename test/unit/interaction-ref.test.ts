// interaction_ref as the original builds it: from the interaction_ref input, else call_id, else session_id[:turn_id];
// undeclared interaction inputs never make a declared-input context refuse the call; kept in the record's inputs.
import { afterAll, describe, expect, it } from "vitest";
import { checkInputs, interactionRef } from "../../src/define/inputs.js";
import { FabraError } from "../../src/errors.js";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { tempFile } from "../helpers/temp.js";

describe("interactionRef", () => {
  it("takes interaction_ref first, then call_id, then session_id with its turn", () => {
    expect(interactionRef({ interaction_ref: "ir_1", call_id: "c_1", session_id: "s" })).toBe("ir_1");
    expect(interactionRef({ call_id: "c_1", session_id: "s", turn_id: 2 })).toBe("c_1");
    expect(interactionRef({ session_id: "s_9", turn_id: 2 })).toBe("s_9:2");
    expect(interactionRef({ session_id: "s_9" })).toBe("s_9");
    expect(interactionRef({ turn_id: 2 })).toBeNull();
    expect(interactionRef({ query: "q", interaction_ref: "" })).toBeNull();
    expect(interactionRef({ call_id: { nested: true } })).toBeNull();
  });

  it("lets undeclared interaction inputs through a declared-input check, and still refuses other unknown inputs", () => {
    const spec = { query: "string" } as const;
    expect(() =>
      checkInputs(spec, "chat", { query: "q", interaction_ref: "r", call_id: "c", session_id: "s", turn_id: 1 }),
    ).not.toThrow();
    expect(() => checkInputs(spec, "chat", { query: "q", userId: "u" })).toThrow(FabraError);
    expect(() => checkInputs(spec, "chat", { query: "q", userId: "u" })).toThrow(/has no input "userId"/);
  });
});

describe("interaction_ref through an assembly", () => {
  let fabra: FabraRuntime | undefined;
  afterAll(async () => fabra?.close());

  it("is returned in meta and the interaction inputs stay in the record's inputs", async () => {
    const chat = context({ inputs: { query: "string" } }, ({ query }: { query: string }) => [{ content: query }]);
    fabra = await createFabra({
      stores: { offline: { type: "duckdb", path: tempFile("fabra-interaction-", "fabra.duckdb") } },
      definitions: { chat },
      warn: () => {},
    });
    const withSession = await fabra.runContext("chat", { query: "hi", session_id: "sess_1", turn_id: 3 });
    expect(withSession.meta.interactionRef).toBe("sess_1:3");
    expect(withSession.record.inputs).toEqual({ query: "hi", session_id: "sess_1", turn_id: 3 });
    const plain = await fabra.runContext("chat", { query: "hi" });
    expect(plain.meta.interactionRef).toBeNull();
  });
});
