// feature(): a function computing one value per entity id, read through the online cache and kept in history.
import type { EntityDef } from "./entity.js";
import { nameOf, runtimeOf } from "./registry.js";

/** Where `fabra materialize` finds the entity ids of a feature. */
export type EntitySource =
  | string[]
  | { sql: string }
  | (() => Iterable<string> | AsyncIterable<string> | Promise<Iterable<string>>);

export interface FeatureOptions<T> {
  /** Defaults to the export name. */
  name?: string;
  entity: EntityDef | string;
  /** How often to recompute: a duration (`"1h"`, ms) or a cron expression (`"*\/5 * * * *"`). */
  refresh?: string | number;
  /** How long a cached value is served: a duration. Default: no expiry. */
  ttl?: string | number;
  /** Computed on schedule / by `fabra materialize` for `entities`. */
  materialize?: boolean;
  entities?: EntitySource;
  /** Served (recorded as `fallback`) when computing fails. */
  default?: T;
  description?: string;
  /**
   * Event types (`POST /v1/ingest/{event}`) that recompute this feature for the event's entity; the function then
   * gets the event as its second argument.
   */
  triggers?: string[];
  /**
   * Read the feature's history from a table or view you manage in the offline store (instead of fabra's own
   * history): training data and `features get --as-of` join it point-in-time where it is, nothing is copied.
   */
  history?: FeatureHistoryTable;
}

/** A user-managed table or view of (entity, event time, value[, known time]) rows: a feature's history. */
export interface FeatureHistoryTable {
  /** The table or view, optionally schema-qualified (`analytics.user_scores`); plain identifiers only. */
  table: string;
  entityColumn: string;
  /** The value's event time (a timestamp, timestamptz or date column). */
  timestampColumn: string;
  /** The value, typed by the column's SQL type (integers stay integers, doubles floats, JSON stays JSON). */
  valueColumn: string;
  /** When each value was known (default: at its event time), for training data by known time. */
  knownTimeColumn?: string;
}

/** The event that triggered a recompute (see `triggers`), handed to the feature function as its second argument. */
export interface FeatureTrigger {
  /** The event type (`user_updated`). */
  event: string;
  /** The event's id (stable across redeliveries). */
  eventId: string;
  /** The event's JSON body (`{}` when it had none). */
  payload: Record<string, unknown>;
  /** From when the event holds (normal-form datetime). */
  eventTime: string;
}

/** `trigger` is set only when an ingested event recomputes the feature. */
export type FeatureFn<T> = (entityId: string, trigger?: FeatureTrigger) => T | Promise<T>;

export interface FeatureDef<T = unknown> {
  readonly kind: "feature";
  name: string | undefined;
  readonly options: FeatureOptions<T>;
  readonly compute: FeatureFn<T>;
  /** Reads the value for an entity (tracked when called inside a context function). */
  get(entityId: string): Promise<T>;
}

export function feature<T>(options: FeatureOptions<T>, compute: FeatureFn<T>): FeatureDef<Awaited<T>> {
  const def: FeatureDef<Awaited<T>> = {
    kind: "feature",
    name: options.name,
    options: options as FeatureOptions<Awaited<T>>,
    compute: compute as FeatureFn<Awaited<T>>,
    get: (entityId) => runtimeOf(def).readFeature(nameOf(def), entityId) as Promise<Awaited<T>>,
  };
  return def;
}

export function entityName(def: FeatureDef): string {
  const e = def.options.entity;
  return typeof e === "string" ? e : (e.name ?? "entity");
}
