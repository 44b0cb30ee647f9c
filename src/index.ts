// fabra's public API: define entities, features, retrievers and contexts; create a runtime; verify records.
export { entity, type EntityDef } from "./define/entity.js";
export {
  feature,
  type FeatureDef,
  type FeatureOptions,
  type FeatureFn,
  type FeatureTrigger,
  type EntitySource,
} from "./define/feature.js";
export { retriever, type RetrieverDef, type RetrieverOptions, type RetrieverBody } from "./define/retriever.js";
export { context, type ContextDef, type ContextOptions, type ContextFn, type ContextInputs } from "./define/context.js";
export type { ContextItem, ContextResult, ContextMeta, FeatureFallback, RetrievedChunk } from "./define/types.js";
export { createFabra, type CreateFabraOptions, FabraRuntime } from "./engine/create.js";
export { loadFabra, openLedger, type LoadFabraOptions } from "./app/load.js";
export type { OpenLedger } from "./app/project.js";
export type { FeatureValue } from "./engine/runtime.js";
export type { Ledger, RecordRef, Comparison, LedgerVerification, VerifiedRecord } from "./engine/ledger/ledger.js";
export type { TrainingDataOptions } from "./engine/features/training-data.js";
export type { MaterializeOptions, FeatureRunResult } from "./engine/features/materialize.js";
export {
  startScheduler,
  type Scheduler,
  type SchedulerOptions,
  type SchedulerEvent,
  type JobStatus,
} from "./engine/features/schedule.js";
export { defineConfig, type FabraConfig } from "./config/schema.js";
export { FabraError, type FabraErrorCode } from "./errors.js";
export {
  verifyRecord,
  verifyStored,
  readRecordText,
  canonicalRecordText,
  type ContextRecord,
  type VerifyResult,
} from "./record/index.js";
