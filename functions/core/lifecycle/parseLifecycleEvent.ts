import { LIFECYCLE_EVENT_TYPES, type LifecycleEvent, type LifecycleEventType } from './lifecycleSchema.ts';
// lifecycleSchema.ts compiled ahead of time (npm run schema): no schema compiler in the function.
import validate from './lifecycleValidator.generated.js';

export type ParsedLifecycleEvent =
  | { readonly ok: true; readonly event: LifecycleEvent & { event_type: LifecycleEventType } }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown_event_type'; readonly message: string };

/** Validates an event's detail; malformed or unknown events are reported, never thrown (seed: absorbed). */
export function parseLifecycleEvent(detail: unknown): ParsedLifecycleEvent {
  if (!validate(detail)) {
    const error = validate.errors?.[0];
    const where = error?.instancePath ? error.instancePath.slice(1) : 'event';
    const what = error?.keyword === 'required' ? `is missing ${(error.params as { missingProperty: string }).missingProperty}` : error?.message ?? 'is invalid';
    return { ok: false, reason: 'malformed', message: `${where} ${what}` };
  }
  if (!(LIFECYCLE_EVENT_TYPES as readonly string[]).includes(detail.event_type)) {
    return { ok: false, reason: 'unknown_event_type', message: `unknown event_type "${detail.event_type}"` };
  }
  return { ok: true, event: detail as LifecycleEvent & { event_type: LifecycleEventType } };
}
