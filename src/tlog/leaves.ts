// What a leaf of fabra's transparency log is (TLOG-001 §1): a record's exact canonical text, or an outcome entry's
// canonical JSON after the domain prefix `fabra:outcome:v1\n` (no record's canonical text starts with `f`: it is a
// JSON object), told apart in the leaf table by the entry id's prefix (`ctx_` records, `out_` outcomes). Pure.

/** The bytes before an outcome's canonical JSON in its leaf (and in its entry hash). */
export const OUTCOME_LEAF_PREFIX = "fabra:outcome:v1\n";

const PREFIX_BYTES = Buffer.from(OUTCOME_LEAF_PREFIX, "utf8");

export type LeafKind = "record" | "outcome";

/** The kind of entry a leaf id names: outcome ids start with `out_`, every other id is a record's context id. */
export const leafKind = (id: string): LeafKind => (id.startsWith("out_") ? "outcome" : "record");

/** The leaf bytes of an outcome entry, from its canonical JSON text. */
export function outcomeLeafBytes(canonicalText: string): Uint8Array {
  return Buffer.concat([PREFIX_BYTES, Buffer.from(canonicalText, "utf8")]);
}

/** The leaf bytes of an entry of either kind, from its stored text. */
export function leafBytes(id: string, storedText: string): Uint8Array {
  return leafKind(id) === "outcome" ? outcomeLeafBytes(storedText) : Buffer.from(storedText, "utf8");
}
