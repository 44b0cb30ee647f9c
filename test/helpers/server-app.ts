// A small fabra app served on a real, random port for the HTTP tests: features (one slow, one failing), a
// retriever, contexts with declared inputs, and hooks to hold requests in flight.
import { context, createFabra, entity, feature, retriever, type FabraRuntime } from "../../src/index.js";
import { startServer, type RunningServer, type ServeOptions } from "../../src/server/serve.js";
import { tempFile } from "./temp.js";

export interface TestServer {
  server: RunningServer;
  fabra: FabraRuntime;
  url: string;
  ledger: string;
  logs: string[];
  /** Requests to `slow` wait until this resolves. */
  gate: { open(): void; entered: number };
  fetch(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
}

export async function startTestServer(options: Partial<Omit<ServeOptions, "runtime">> = {}): Promise<TestServer> {
  const ledger = tempFile("fabra-server-", "fabra.duckdb");
  let release!: () => void;
  let released = new Promise<void>((r) => (release = r));
  const gate = {
    entered: 0,
    open() {
      release();
      released = Promise.resolve();
    },
  };
  const user = entity("user");
  const userTier = feature({ entity: user, ttl: "1h" }, (id: string) => (id === "u1" ? "gold" : "free"));
  const score = feature({ entity: user }, (id: string) => Number(id.replace(/\D/g, "")) + 0.5);
  const broken = feature({ entity: user }, (): number => {
    throw new Error("warehouse down");
  });
  const docs = retriever({ index: "kb", topK: 2 });
  const chat = context(
    { maxTokens: 40, inputs: { userId: "string", query: "string", verbose: "boolean?" } },
    async ({ userId, query }: { userId: string; query: string }) => {
      const tier = await userTier.get(userId);
      const hits = await docs(query);
      return [
        { content: "System prompt.", priority: 0, required: true },
        { content: `User ${userId} is ${tier}.`, priority: 1, required: true },
        ...hits.map((h, i) => ({ content: h.content, priority: 2 + i, source: h })),
      ];
    },
  );
  const slow = context({ inputs: { n: "integer" } }, async ({ n }: { n: number }) => {
    gate.entered++;
    await released;
    return [{ content: `slow ${n}`, required: true }];
  });
  const boom = context({}, () => {
    throw new TypeError("cannot read properties of undefined (reading 'x')");
  });
  const badItems = context({}, () => [
    Object.defineProperty({}, "content", {
      get() {
        throw new RangeError("secret internal detail");
      },
    }) as { content: string },
  ]);
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: ledger } },
    definitions: { user, userTier, score, broken, docs, chat, slow, boom, badItems },
    warn: () => {},
  });
  await fabra.index.add("kb", [
    { id: "reset", content: "To reset your password open the sign-in page and choose Forgot password." },
    {
      id: "billing",
      content: "Invoices are sent monthly to the billing contact, with the amount due and the due date.",
    },
    { id: "limits", content: "The API allows 600 requests per minute on the Pro plan." },
  ]);
  const logs: string[] = [];
  const server = await startServer({
    runtime: fabra,
    host: "127.0.0.1",
    port: 0,
    bodyLimit: 4096,
    apiKeys: [],
    log: (l) => logs.push(l),
    ...options,
  });
  return {
    server,
    fabra,
    url: server.url,
    ledger,
    logs,
    gate,
    fetch: (path, init = {}) => {
      const { key, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key) headers.set("authorization", `Bearer ${key}`);
      if (rest.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
      return fetch(server.url + path, { ...rest, headers });
    },
  };
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (HTTP ${res.status}): ${text.slice(0, 200)}`);
  }
}
