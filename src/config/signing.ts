// Signing as configured — the mode (signing.mode, FABRA_SIGNATURE_MODE winning) and the key (FABRA_SIGNING_KEY,
// FABRA_SIGNING_KEY_ID) — and the settings records are written and verified with.
import { FabraError } from "../errors.js";
import { parseSigningKey, type SignatureMode, type SigningKey } from "../record/sign.js";

/** The key as the environment gives it; parsed (and checked) when records are signed or verified. */
export interface SigningKeySource {
  text: string;
  id: string;
}

export interface SigningConfig {
  mode: SignatureMode;
  key: SigningKeySource | null;
}

export interface SigningSettings {
  mode: SignatureMode;
  key: SigningKey | null;
}

/** FABRA_SIGNING_KEY / FABRA_SIGNING_KEY_ID, or null when no key is set. */
export function signingKeySource(env: NodeJS.ProcessEnv): SigningKeySource | null {
  const text = env.FABRA_SIGNING_KEY;
  return text ? { text, id: env.FABRA_SIGNING_KEY_ID || "default" } : null;
}

/** The settings records are verified with: the key parsed (INVALID_CONFIG when it does not parse). */
export function verificationSigning(signing: SigningConfig): SigningSettings {
  return { mode: signing.mode, key: signing.key ? parseSigningKey(signing.key.text, signing.key.id) : null };
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
        hint: "Set FABRA_SIGNING_KEY (raw, hex:..., or base64:...) or use signing mode optional/off.",
      },
    );
  }
  return settings;
}
