// The wire shape of an ingested event's dead letter, shared by GET /v1/ingest/dead-letter and
// `fabra ingest dead-letter --json`.
import type { DeadLetter } from "../stores/types.js";

/** A dead letter on the wire (snake_case, the event's data parsed when it is JSON). */
export function deadLetterJson(d: DeadLetter): Record<string, unknown> {
  let data: unknown = d.data;
  if (d.data !== null) {
    try {
      data = JSON.parse(d.data);
    } catch {
      // malformed: shown as the text it was
    }
  }
  return {
    id: d.id,
    event_type: d.eventType,
    entry_id: d.entryId,
    reason: d.reason,
    deliveries: d.deliveries,
    failed_at: d.failedAt,
    data,
  };
}
