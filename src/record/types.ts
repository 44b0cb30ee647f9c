// CRS-001 Context Record types (see ../shared/spec/CRS-001.md). Field names are the wire names.
import type { JsonFloat, JsonObject, JsonValue } from "./json.js";

export const SCHEMA_VERSION = "1.0.0";

/** Any string: fabra stamps FABRA_ENV as given (`development` by default), as the Python implementation does. */
export type Environment = string;
export type FeatureSource = "cache" | "compute" | "fallback";
export type DropReason = "budget_exceeded" | "priority_cutoff";
export type FreshnessStatus = "guaranteed" | "degraded" | "unknown";

/** Datetimes are strings in CRS-001 normal form: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. */
export type Datetime = string;

/** Int-typed fields: a number, or a bigint beyond 2^53 (CRS-001 rule 3: integers of any size, as read from records). */
export type IntField = number | bigint;

/** Float-typed fields accept a plain number (written as a float whatever its value) or a JsonFloat. */
export type FloatField = number | JsonFloat;

export interface FeatureRecord {
  name: string;
  entity_id: string;
  value: JsonValue;
  source: FeatureSource;
  as_of: Datetime;
  freshness_ms: IntField;
}

export interface RetrievedItemRecord {
  retriever: string;
  chunk_id: string;
  document_id: string;
  content_hash: string;
  content: string | null;
  token_count: IntField;
  priority: IntField;
  similarity_score: FloatField;
  source_url: string | null;
  as_of: Datetime;
  freshness_ms: IntField;
  is_stale: boolean;
}

export interface DroppedItemRecord {
  source_id: string;
  priority: IntField;
  token_count: IntField;
  reason: DropReason;
}

export interface AssemblyRecord {
  max_tokens: IntField | null;
  tokens_used: IntField;
  items_provided: IntField;
  items_included: IntField;
  dropped_items: DroppedItemRecord[];
  required_items_included: boolean;
  freshness_sla_ms: IntField | null;
  freshness_status: FreshnessStatus;
  freshness_violations: string[];
}

export interface LineageRecord {
  features_used: string[];
  retrievers_used: string[];
  indexes_used: string[];
  code_version: string | null;
  fabra_version: string;
  assembly_latency_ms: FloatField;
  estimated_cost_usd: FloatField;
}

export interface IntegrityRecord {
  record_hash: string;
  content_hash: string;
  previous_context_id: string | null;
  signed_at: Datetime | null;
  /** May be absent in records written by other implementations. */
  signing_key_id?: string | null;
  signature: string | null;
}

export interface ContextRecord {
  context_id: string;
  created_at: Datetime;
  environment: Environment;
  schema_version: string;
  inputs: JsonObject;
  context_function: string;
  content: string;
  token_count: IntField;
  features: FeatureRecord[];
  retrieved_items: RetrievedItemRecord[];
  assembly: AssemblyRecord;
  lineage: LineageRecord;
  integrity: IntegrityRecord;
}
