// How a record in the ledger is named: its context id (`ctx_<uuid>` or the bare UUID) or its record hash
// (`sha256:<64 hex>`), as the original's /v1/record/{ref} and its clients name records.
import { FabraError } from "../../errors.js";
import { normalizeContextId } from "../../record/id.js";

export type LedgerRef = { contextId: string } | { recordHash: string };

const RECORD_HASH = /^sha256:[0-9a-f]{64}$/;

/** A context id or a `sha256:` record hash, normalized (lower case, `ctx_` prefix); INVALID_ID otherwise. */
export function parseLedgerRef(input: string): LedgerRef {
  const text = input.trim().toLowerCase();
  if (!text.startsWith("sha256:")) return { contextId: normalizeContextId(input) };
  if (!RECORD_HASH.test(text)) {
    throw new FabraError("INVALID_ID", `${JSON.stringify(input)} is not a record hash`, {
      hint: "A record hash is sha256: followed by 64 hex digits (the record's integrity.record_hash); or name the record by its context id.",
    });
  }
  return { recordHash: text };
}

/** The ref as shown in messages. */
export function showLedgerRef(ref: LedgerRef): string {
  return "recordHash" in ref ? `with record_hash ${ref.recordHash}` : ref.contextId;
}
