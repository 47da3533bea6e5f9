/**
 * A payload is stored as its JSON text, not as a DynamoDB map: whatever JSON the intent carried
 * fits a string, where a map refuses nesting past 32 levels, numbers past 38 digits or
 * 1E-130..9.9E125, and empty keys, and a reader rebuilding a map would turn a `__proto__` key
 * into a prototype. It is also cheaper to write (no marshalling).
 */
export function payloadText(payload: Record<string, unknown>): string {
  return JSON.stringify(payload);
}

/** The payload of an item: JSON text, or a map (items written before payloads were text). */
export function payloadOf(stored: unknown): Record<string, unknown> {
  return typeof stored === 'string' ? (JSON.parse(stored) as Record<string, unknown>) : (stored as Record<string, unknown>);
}
