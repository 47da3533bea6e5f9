import { Ajv2020 } from 'ajv/dist/2020.js';
import { LIFECYCLE_EVENT_TYPES, lifecycleSchema, type LifecycleEvent, type LifecycleEventType } from './lifecycleSchema.ts';

const validate = new Ajv2020({ allErrors: false, strict: false }).compile<LifecycleEvent>(lifecycleSchema);

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
