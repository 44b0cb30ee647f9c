// Verification options: the signing key (FABRA_SIGNING_KEY / FABRA_SIGNING_KEY_ID) and whether a signature is
// required — the project's resolved signing mode when there is a project (config file, FABRA_SIGNATURE_MODE winning),
// else FABRA_SIGNATURE_MODE alone.
import { signatureModeFromEnv, signingKeyFromEnv, type SignatureMode } from "./sign.js";
import type { VerifyOptions } from "./verify.js";

export function verifyOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, mode: SignatureMode = signatureModeFromEnv(env)): VerifyOptions {
  return { signingKey: signingKeyFromEnv(env), requireSignature: mode === "required" };
}
