// C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys: signer and verifier key text, key ids,
// signing a note and opening one against trusted verifier keys. Pure: node:crypto only, no I/O.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";

const ED25519 = 0x01;
/** DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS#8) and public key (SPKI) for node:crypto. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const SIGNATURE_PREFIX = "\u2014 ";

export class NoteError extends Error {}

export interface NoteSigner {
  name: string;
  keyHash: number;
  privateKey: KeyObject;
}

export interface NoteVerifier {
  name: string;
  keyHash: number;
  publicKey: KeyObject;
}

/** A key name: non-empty, no spaces, no '+' (the signed-note rules). */
function checkName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || !/^[\x21-\x7e\u00a0-\u{10ffff}]+$/u.test(name))
    throw new NoteError(`key name "${name}" must be non-empty, with no spaces and no '+'`);
}

/** The key id: the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key), big-endian. */
export function keyHash(name: string, publicKey: Uint8Array): number {
  const digest = createHash("sha256")
    .update(Buffer.from(`${name}\n`, "utf8"))
    .update(Uint8Array.of(ED25519))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

const hex8 = (n: number): string => n.toString(16).padStart(8, "0");

function rawPublicKey(key: KeyObject): Uint8Array {
  return key.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
}

/** A new Ed25519 key pair as signed-note key text: `PRIVATE+KEY+<name>+<hash>+<base64>` and `<name>+<hash>+<base64>`. */
export function generateNoteKeys(name: string): { signerKey: string; verifierKey: string } {
  checkName(name);
  const { privateKey } = generateKeyPairSync("ed25519");
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length);
  return signerKeyText(name, seed);
}

/** The key text of the Ed25519 key with this 32-byte seed (for test vectors and keygen). */
export function signerKeyText(name: string, seed: Uint8Array): { signerKey: string; verifierKey: string } {
  checkName(name);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  const pub = rawPublicKey(createPublicKey(privateKey));
  const hash = hex8(keyHash(name, pub));
  const b64 = (bytes: Uint8Array) => Buffer.concat([Uint8Array.of(ED25519), bytes]).toString("base64");
  return { signerKey: `PRIVATE+KEY+${name}+${hash}+${b64(seed)}`, verifierKey: `${name}+${hash}+${b64(pub)}` };
}

function keyParts(text: string, what: string): { name: string; hash: number; key: Buffer } {
  // The base64 part may itself contain '+': split at the first two only.
  const match = /^([^+]+)\+([^+]+)\+(.+)$/su.exec(text.trim());
  if (!match) throw new NoteError(`${what} is not <name>+<hash>+<base64>`);
  const [, name, hash, b64] = match as unknown as [string, string, string, string];
  checkName(name);
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new NoteError(`${what}: key hash "${hash}" is not 8 lowercase hex digits`);
  if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) throw new NoteError(`${what}: key is not base64`);
  const raw = Buffer.from(b64, "base64");
  if (raw.length !== 33 || raw[0] !== ED25519) throw new NoteError(`${what}: not an Ed25519 key (type 0x01, 32 bytes)`);
  return { name, hash: Number.parseInt(hash, 16), key: raw.subarray(1) };
}

/** Parses signer key text (`PRIVATE+KEY+<name>+<hash>+<base64>`), checking its hash against the key. */
export function parseSignerKey(text: string): NoteSigner {
  const trimmed = text.trim();
  if (!trimmed.startsWith("PRIVATE+KEY+")) throw new NoteError("signer key does not start with PRIVATE+KEY+");
  const { name, hash, key } = keyParts(trimmed.slice("PRIVATE+KEY+".length), "signer key");
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, key]), format: "der", type: "pkcs8" });
  if (keyHash(name, rawPublicKey(createPublicKey(privateKey))) !== hash)
    throw new NoteError("signer key: the key hash does not match the key");
  return { name, keyHash: hash, privateKey };
}

/** Parses verifier key text (`<name>+<hash>+<base64>`), checking its hash against the key. */
export function parseVerifierKey(text: string): NoteVerifier {
  const { name, hash, key } = keyParts(text, "verifier key");
  if (keyHash(name, key) !== hash) throw new NoteError("verifier key: the key hash does not match the key");
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key]), format: "der", type: "spki" });
  return { name, keyHash: hash, publicKey };
}

/** The verifier key text of a signer. */
export function verifierKeyOf(signer: NoteSigner): string {
  const pub = rawPublicKey(createPublicKey(signer.privateKey));
  return `${signer.name}+${hex8(signer.keyHash)}+${Buffer.concat([Uint8Array.of(ED25519), pub]).toString("base64")}`;
}

function checkBody(text: string): void {
  if (!text.endsWith("\n")) throw new NoteError("note text must end with a newline");
  if (text.includes("\n\n")) throw new NoteError("note text must not contain a blank line");
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/u.test(text)) throw new NoteError("note text has control characters");
}

/** The signed note: the text, a blank line, one signature line per signer. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkBody(text);
  const body = Buffer.from(text, "utf8");
  let out = `${text}\n`;
  for (const s of signers) {
    const sig = sign(null, body, s.privateKey);
    const blob = Buffer.alloc(4 + sig.length);
    blob.writeUInt32BE(s.keyHash, 0);
    sig.copy(blob, 4);
    out += `${SIGNATURE_PREFIX}${s.name} ${blob.toString("base64")}\n`;
  }
  return out;
}

export interface OpenedNote {
  text: string;
  /** The names and key ids of the trusted keys whose signatures verified. */
  verifiedBy: { name: string; keyHash: number }[];
}

/**
 * Opens a signed note: splits text and signatures, verifies each signature by a known key. Fails (NoteError) when
 * the note is malformed, a known key's signature does not verify, or no known key signed it (as Go's note.Open).
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new NoteError("malformed note: no blank line before the signatures");
  const text = note.slice(0, split + 1);
  checkBody(text);
  const lines = note.slice(split + 2, -1).split("\n");
  const body = Buffer.from(text, "utf8");
  const verifiedBy: OpenedNote["verifiedBy"] = [];
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new NoteError(`malformed signature line "${line}"`);
    const [name, b64, extra] = line.slice(SIGNATURE_PREFIX.length).split(" ");
    if (!name || !b64 || extra !== undefined || !/^[A-Za-z0-9+/]+=*$/.test(b64))
      throw new NoteError(`malformed signature line "${line}"`);
    const blob = Buffer.from(b64, "base64");
    if (blob.length < 5) throw new NoteError(`signature of ${name} is too short`);
    const hash = blob.readUInt32BE(0);
    const key = verifiers.find((v) => v.name === name && v.keyHash === hash);
    if (!key) continue;
    if (!verify(null, body, key.publicKey, blob.subarray(4)))
      throw new NoteError(`the signature of ${name}+${hex8(hash)} does not verify`);
    verifiedBy.push({ name, keyHash: hash });
  }
  if (verifiedBy.length === 0) throw new NoteError("no signature by a known key");
  return { text, verifiedBy };
}
