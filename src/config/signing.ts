// Signing as configured — the mode (signing.mode, FABRA_SIGNATURE_MODE winning), the key records are signed with
// (FABRA_SIGNING_KEY, FABRA_SIGNING_KEY_ID), more verification keys by id for rotation (FABRA_SIGNING_KEYS), and the
// unsigned records accepted anyway (signing.acceptUnsignedBefore, FABRA_ACCEPT_UNSIGNED_BEFORE) — read as the Python
// implementation reads them (whitespace stripped), and the settings records are written and verified with.
import { FabraError } from "../errors.js";
import { parseSigningKey, type SignatureMode, type SigningKey } from "../record/sign.js";
import { parseUnsignedCutoff, type UnsignedCutoff } from "../record/unsigned-cutoff.js";

/** A key as the environment gives it; parsed (and checked) when records are signed or verified. */
export interface SigningKeySource {
  text: string;
  id: string;
  /** The setting it came from, for errors. */
  where: string;
}

export interface SigningConfig {
  mode: SignatureMode;
  /** The key records are signed with (null: records are not signed). */
  key: SigningKeySource | null;
  /** Every key signatures are verified with: `key` and the FABRA_SIGNING_KEYS entries. */
  keys: SigningKeySource[];
  /** A context id or datetime: unsigned records filed before it pass although a key is configured. */
  acceptUnsignedBefore: string | null;
}

export interface SigningSettings {
  mode: SignatureMode;
  key: SigningKey | null;
  keys: SigningKey[];
  acceptUnsigned: UnsignedCutoff | null;
}

// Conservative synonyms: only words whose meaning is not in doubt (documented in the README).
const MODE_WORDS: Record<string, SignatureMode> = {
  off: "off",
  none: "off",
  disabled: "off",
  disable: "off",
  false: "off",
  no: "off",
  "0": "off",
  optional: "optional",
  required: "required",
  require: "required",
  enforce: "required",
  enforced: "required",
  strict: "required",
};

/** FABRA_SIGNATURE_MODE: stripped, any case, the synonyms above; undefined when unset or blank. */
export function parseSignatureMode(raw: string | undefined, where = "FABRA_SIGNATURE_MODE"): SignatureMode | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const mode = MODE_WORDS[raw.trim().toLowerCase()];
  if (mode) return mode;
  throw new FabraError("INVALID_CONFIG", `${where}=${JSON.stringify(raw)} is not a signature mode`, {
    hint: `Use off, optional or required (also accepted: ${Object.keys(MODE_WORDS)
      .filter((w) => !["off", "optional", "required"].includes(w))
      .join(", ")}).`,
  });
}

/**
 * FABRA_SIGNING_KEYS: `id:key,id:key` (the key in any FABRA_SIGNING_KEY form: raw, hex:..., base64:...; a raw key
 * cannot hold a comma). Blank entries are ignored; an entry without an id is an error.
 */
function keyList(raw: string | undefined): SigningKeySource[] {
  if (raw === undefined || raw.trim() === "") return [];
  return raw
    .split(",")
    .filter((entry) => entry.trim() !== "")
    .map((entry, i) => {
      const colon = entry.indexOf(":");
      const id = colon < 0 ? "" : entry.slice(0, colon).trim();
      if (id === "" || colon === entry.length - 1) {
        throw new FabraError("INVALID_CONFIG", `FABRA_SIGNING_KEYS entry ${i + 1} is not id:key`, {
          hint: "Write FABRA_SIGNING_KEYS=id1:key1,id2:key2 (keys raw, hex:... or base64:...).",
        });
      }
      return { id, text: entry.slice(colon + 1), where: `FABRA_SIGNING_KEYS (key ${id})` };
    });
}

/** The keys from the environment, or none. FABRA_SIGNING_KEY_ID may name a FABRA_SIGNING_KEYS entry to sign with. */
export function signingKeySources(env: NodeJS.ProcessEnv): { key: SigningKeySource | null; keys: SigningKeySource[] } {
  const id = env.FABRA_SIGNING_KEY_ID?.trim() || "default";
  const list = keyList(env.FABRA_SIGNING_KEYS);
  const text = env.FABRA_SIGNING_KEY;
  const single = text && text.trim() !== "" ? { text, id, where: "FABRA_SIGNING_KEY" } : null;
  const key = single ?? list.find((k) => k.id === id) ?? null;
  return { key, keys: single ? [single, ...list] : list };
}

/** The settings records are verified with: the keys parsed (INVALID_CONFIG when one does not parse). */
export function verificationSigning(signing: SigningConfig): SigningSettings {
  const parse = (k: SigningKeySource) => parseSigningKey(k.text, k.id, k.where);
  const keys = signing.keys.map(parse);
  for (const k of keys) {
    if (keys.some((o) => o.id === k.id && !o.secret.equals(k.secret))) {
      throw new FabraError("INVALID_CONFIG", `Two different signing keys have the id ${JSON.stringify(k.id)}`, {
        hint: "Give each key in FABRA_SIGNING_KEY / FABRA_SIGNING_KEYS its own id.",
      });
    }
  }
  return {
    mode: signing.mode,
    key: signing.key ? parse(signing.key) : null,
    keys,
    acceptUnsigned:
      signing.acceptUnsignedBefore === null
        ? null
        : parseUnsignedCutoff(signing.acceptUnsignedBefore, "signing.acceptUnsignedBefore"),
  };
}

/**
 * The settings records are written with: as verificationSigning, and INVALID_CONFIG when signing is required and no
 * key is set. `fabra doctor` checks it too.
 */
export function signingSettings(config: { signing: SigningConfig }): SigningSettings {
  const settings = verificationSigning(config.signing);
  if (settings.mode === "required" && !settings.key) {
    throw new FabraError(
      "INVALID_CONFIG",
      "Signing is required (signing.mode / FABRA_SIGNATURE_MODE) but FABRA_SIGNING_KEY is not set",
      {
        hint: "Set FABRA_SIGNING_KEY (raw, hex:..., or base64:...), or FABRA_SIGNING_KEY_ID naming a FABRA_SIGNING_KEYS entry, or use signing mode optional/off.",
      },
    );
  }
  return settings;
}
