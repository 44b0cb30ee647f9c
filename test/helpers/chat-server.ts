// A local OpenAI-compatible chat server for the adapter tests: POST <base>/chat/completions (JSON, or SSE chunks
// with `stream: true`) and POST <base>/responses. It records each request body and answers with a fixed reply.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ChatServer {
  /** e.g. http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  requests: { path: string; body: Record<string, unknown> }[];
  reply: string;
  close(): Promise<void>;
}

export async function startChatServer(): Promise<ChatServer> {
  const state: ChatServer = { baseUrl: "", requests: [], reply: "Open the sign-in page.", close: async () => {} };
  let n = 0;
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text || "{}") as Record<string, unknown>;
    const path = (req.url ?? "").replace(/^\/v1/, "");
    state.requests.push({ path, body });
    const id = `resp_${++n}`;
    const model = String(body.model);
    const usage = { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 };
    if (path === "/chat/completions" && body.stream === true) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const words = state.reply.split(/(?<= )/);
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      words.forEach((w, i) => {
        send({
          id,
          object: "chat.completion.chunk",
          created: 1,
          model,
          choices: [
            { index: 0, delta: i === 0 ? { role: "assistant", content: w } : { content: w }, finish_reason: null },
          ],
        });
      });
      send({
        id,
        object: "chat.completion.chunk",
        created: 1,
        model,
        choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
      });
      send({ id, object: "chat.completion.chunk", created: 1, model, choices: [], usage });
      res.end("data: [DONE]\n\n");
      return;
    }
    if (path === "/chat/completions") {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created: 1,
          model,
          choices: [{ index: 0, message: { role: "assistant", content: state.reply }, finish_reason: "stop" }],
          usage,
        }),
      );
      return;
    }
    if (path === "/responses") {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id,
          object: "response",
          created_at: 1,
          status: "completed",
          model,
          output: [
            {
              type: "message",
              id: "msg_1",
              status: "completed",
              role: "assistant",
              content: [{ type: "output_text", text: state.reply, annotations: [] }],
            },
          ],
          usage: { input_tokens: 21, output_tokens: 5, total_tokens: 26 },
        }),
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "no route" } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
