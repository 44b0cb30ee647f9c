// The RFC 6962 hashes `ledger verify` computes for every leaf, one-shot: SHA-256(0x00 || bytes) and
// SHA-256(0x01 || left || right), the same as tlog/merkle.ts's leafHash and nodeHash (test/unit/verify-rows-pool.test.ts
// holds them to each other), but without a Hash object and its two or three updates per hash, which for a ledger of
// small records costs about as much as the hashing. Older nodes (no crypto.hash, before 20.12) take merkle.ts's.
import * as crypto from "node:crypto";
import { leafHash, nodeHash } from "../../tlog/merkle.js";

type OneShot = (algorithm: string, data: Uint8Array, encoding: "buffer") => Buffer;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

let scratch = new Uint8Array(1 << 14);

/** SHA-256 of `prefixed`, whose first byte the caller has set to 0x00: the leaf hash of the bytes after it. */
export function prefixedLeafHash(prefixed: Uint8Array): Uint8Array {
  return oneShot ? oneShot("sha256", prefixed, "buffer") : leafHash(prefixed.subarray(1));
}

/** The leaf hash of `bytes`: SHA-256(0x00 || bytes). */
export function leafHashOf(bytes: Uint8Array): Uint8Array {
  if (!oneShot) return leafHash(bytes);
  if (scratch.length < bytes.length + 1) scratch = new Uint8Array(2 * (bytes.length + 1));
  scratch[0] = 0;
  scratch.set(bytes, 1);
  return oneShot("sha256", scratch.subarray(0, bytes.length + 1), "buffer");
}

const pair = new Uint8Array(65);

/** The hash of an interior node: SHA-256(0x01 || left || right), for 32-byte hashes. */
export function pairHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!oneShot || left.length !== 32 || right.length !== 32) return nodeHash(left, right);
  pair[0] = 1;
  pair.set(left, 1);
  pair.set(right, 33);
  return oneShot("sha256", pair, "buffer");
}
