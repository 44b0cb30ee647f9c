// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the note text of a tree head (origin, tree size, base64
// root hash, optional extension lines), written and parsed strictly. Pure.
import { HASH_SIZE } from "./merkle.js";

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
}

export class CheckpointError extends Error {}

export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin.length === 0 || c.origin.includes("\n")) throw new CheckpointError("origin must be one non-empty line");
  return `${[c.origin, String(c.size), Buffer.from(c.rootHash).toString("base64"), ...c.extensions].join("\n")}\n`;
}

export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new CheckpointError("checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  const [origin, size, root, ...extensions] = lines;
  if (!origin || size === undefined || root === undefined)
    throw new CheckpointError("checkpoint has fewer than 3 lines");
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new CheckpointError(`tree size "${size}" is not a decimal whole number`);
  const rootHash = Buffer.from(root, "base64");
  if (rootHash.length !== HASH_SIZE || rootHash.toString("base64") !== root)
    throw new CheckpointError("root hash is not 32 bytes of standard base64");
  if (extensions.some((e) => e.length === 0)) throw new CheckpointError("checkpoint has an empty extension line");
  return { origin, size: Number(size), rootHash: new Uint8Array(rootHash), extensions };
}
