// One HTTP exchange with a Node request handler ((IncomingMessage, ServerResponse) => void, as `fabra serve` hands
// requests to its feature lane and hono's adapter) without a network: a real IncomingMessage (no body) and a real
// ServerResponse writing into an in-memory socket. Resolves to the bytes the response put on the wire.
import { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { PassThrough } from "node:stream";

export interface NodeRequest {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  /** [name, value, name, value, ...] as sent; a Host header is added when there is none. */
  rawHeaders: string[];
  remoteAddress?: string | undefined;
}

export type NodeHandler = (incoming: IncomingMessage, outgoing: ServerResponse) => unknown;

/** Node's two sides of `request`, and the bytes the response puts on the wire once it has finished. */
export function nodeExchange(request: NodeRequest): {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
  wire: Promise<string>;
} {
  const raw = [...request.rawHeaders];
  if (!raw.some((v, i) => i % 2 === 0 && v.toLowerCase() === "host")) raw.push("Host", "localhost");
  const socket = new PassThrough();
  Object.defineProperty(socket, "remoteAddress", { value: request.remoteAddress });
  const incoming = new IncomingMessage(socket as unknown as Socket);
  incoming.method = request.method;
  incoming.url = request.url;
  incoming.rawHeaders = raw;
  // As Node's parser joins them: the first value of each name, later ones appended with ", ".
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  incoming.headers = headers;
  incoming.complete = true;
  incoming.push(null);
  const outgoing = new ServerResponse(incoming);
  outgoing.shouldKeepAlive = true;
  outgoing.assignSocket(socket as unknown as Socket);
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const wire = new Promise<string>((resolve, reject) => {
    outgoing.on("finish", () => setImmediate(() => resolve(Buffer.concat(chunks).toString("latin1"))));
    outgoing.on("error", reject);
  });
  return { incoming, outgoing, wire };
}

/** `handler`'s answer to `request`, as the bytes on the wire. */
export function exchange(handler: NodeHandler, request: NodeRequest): Promise<string> {
  const { incoming, outgoing, wire } = nodeExchange(request);
  handler(incoming, outgoing);
  return wire;
}

/** The status, headers (names lower-cased) and body of an HTTP/1.1 response's bytes. */
export function parseWire(wire: string): { status: number; headers: Record<string, string>; body: string } {
  const end = wire.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = wire.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: wire.slice(end + 4) };
}
