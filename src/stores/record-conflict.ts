// The one error every ledger backend raises when an id is appended again with different content.
import { FabraError } from "../errors.js";

export function conflictError(contextId: string, storedHash: string, newHash: string): FabraError {
  return new FabraError(
    "RECORD_CONFLICT",
    `Record ${contextId} is already in the ledger with record_hash ${storedHash}; refusing a different record_hash ${newHash}`,
    {
      hint: "Records are immutable: an id is written once. Appending the identical record again is a no-op.",
      details: { contextId, storedHash, newHash },
    },
  );
}
