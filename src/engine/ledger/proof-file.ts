// The inclusion proof file (TLOG-001 §Proof file) read strictly: a file that is not one is INVALID_ARGUMENT naming
// what is wrong, before any hash is checked.
import { z } from "zod";
import { FabraError } from "../../errors.js";
import type { InclusionProofFile } from "./log.js";

const BASE64_HASH = /^[A-Za-z0-9+/]{43}=$/;

export const proofFileSchema = z.strictObject({
  format: z.literal("fabra-tlog-inclusion-proof/v1"),
  context_id: z.string().min(1),
  outcome_id: z.string().min(1).optional(),
  entry: z.string().min(1).optional(),
  leaf_index: z.number().int().nonnegative(),
  tree_size: z.number().int().positive(),
  hashes: z.array(z.string().regex(BASE64_HASH, "a base64 SHA-256 hash")).max(64),
  checkpoint: z.string().min(1),
});

export function parseProofFile(text: string, where: string): InclusionProofFile {
  const proof = parseProofJson(text, where);
  if ((proof.outcome_id === undefined) !== (proof.entry === undefined))
    throw new FabraError("INVALID_ARGUMENT", `${where} is not an inclusion proof: outcome_id and entry go together`, {
      hint: "An outcome entry's proof (`fabra context prove <id> --outcome <outcome_id>`) has both; a record's neither.",
    });
  return proof;
}

function parseProofJson(text: string, where: string): InclusionProofFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FabraError("INVALID_JSON", `${where} is not JSON: ${(err as Error).message}`, {
      hint: "Give the file `fabra context prove <id> -o proof.json` wrote.",
    });
  }
  const parsed = proofFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FabraError(
      "INVALID_ARGUMENT",
      `${where} is not an inclusion proof: ${issue?.path.join(".") || "(top level)"}: ${issue?.message}`,
      { hint: "Give the file `fabra context prove <id> -o proof.json` wrote (see spec/TLOG-001.md)." },
    );
  }
  return parsed.data;
}
