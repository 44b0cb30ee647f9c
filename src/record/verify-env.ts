// Verification options from the environment: the signing key and whether a signature is required.
import { signatureModeFromEnv, signingKeyFromEnv } from "./sign.js";
import type { VerifyOptions } from "./verify.js";

export function verifyOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): VerifyOptions {
  return { signingKey: signingKeyFromEnv(env), requireSignature: signatureModeFromEnv(env) === "required" };
}
