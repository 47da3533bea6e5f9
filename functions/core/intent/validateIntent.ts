import { UNSUBSCRIBE_URL_TEMPLATE_FIELD } from '../email/renderTemplate.ts';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { MAX_INTENT_BYTES, MAX_PAYLOAD_DEPTH } from '../constants.ts';
import type { Catalog } from '../catalog/catalogTypes.ts';
import { missingTemplateFields } from '../email/renderTemplate.ts';
import { wellFormed } from '../wellFormed.ts';
import type { Recipient, RejectionReason } from '../types.ts';
import type { Intent } from './intentSchema.ts';
// intentSchema.ts compiled ahead of time (npm run schema): no schema compiler in the function.
import validateSchema from './intentValidator.generated.js';

/** An intent that passed every check, with its audience normalised to a recipient list. */
export interface ValidIntent {
  readonly ok: true;
  readonly intent: Intent;
  readonly recipients: readonly Recipient[];
}

/** Why an intent was refused; becomes a rejection record. */
export interface InvalidIntent {
  readonly ok: false;
  readonly reason: RejectionReason;
  readonly message: string;
  /** Whatever identifying fields could be read from the body, for the rejection record. */
  readonly producer?: string;
  readonly idempotency_key?: string;
  readonly notification_type?: string;
}

export type IntentValidation = ValidIntent | InvalidIntent;

export interface IntentLimits {
  readonly maxPayloadBytes: number;
}

/**
 * Parses and validates one raw intent body against the schema, the catalog and the size limits.
 * Never throws for bad input: every refusal carries a reason from the fixed set and a message that
 * says exactly what is wrong.
 */
export function validateIntent(rawBody: string, catalog: Catalog, limits: IntentLimits): IntentValidation {
  const shaped = validateIntentSchema(rawBody);
  if (!shaped.ok) return shaped;
  return checkContent(shaped.intent, shaped.ids, { catalog, maxPayloadBytes: limits.maxPayloadBytes });
}

/** What a producer knows of the deployment it sends to; a check that needs what it lacks is left to Herald. */
export interface KnownDeployment {
  /** The deployment's catalog: unknown notification types and missing template fields are refused. */
  readonly catalog?: Catalog;
  /** The deployment's `maxPayloadBytes`: a larger payload is refused. */
  readonly maxPayloadBytes?: number;
}

/**
 * Every check Herald's acceptance makes that `known` allows, for a producer refusing a bad intent
 * before it sends it: size, JSON, schema and duplicate recipients always, the payload limit and the
 * catalog's checks when it knows them. An intent that passes may still be refused by Herald for
 * what was not known here (or for `idempotency_conflict`, `recipient_deleted`).
 */
export function validateIntentBeforeSending(rawBody: string, known: KnownDeployment = {}): IntentValidation {
  const shaped = validateIntentSchema(rawBody);
  if (!shaped.ok) return shaped;
  return checkContent(shaped.intent, shaped.ids, known);
}

/** Size, JSON and schema checks: the first steps of both validations above. */
function validateIntentSchema(
  rawBody: string,
): { ok: true; intent: Intent; ids: ReturnType<typeof identifyingFields> } | InvalidIntent {
  if (Buffer.byteLength(rawBody, 'utf8') > MAX_INTENT_BYTES) {
    return { ok: false, reason: 'intent_too_large', message: `intent body exceeds ${MAX_INTENT_BYTES} bytes` };
  }
  let parsed: unknown;
  try {
    // A byte order mark is not JSON, but JSON parsers may ignore one (RFC 8259 §8.1); so does Herald.
    parsed = JSON.parse(rawBody.startsWith('\uFEFF') ? rawBody.slice(1) : rawBody);
  } catch (error) {
    return { ok: false, reason: 'malformed_json', message: `body is not valid JSON: ${(error as Error).message}` };
  }
  const ids = identifyingFields(parsed);
  if (!validateSchema(parsed)) {
    return { ok: false, reason: 'schema_violation', message: describeSchemaError(validateSchema.errors), ...ids };
  }
  return { ok: true, intent: parsed, ids };
}

function checkContent(intent: Intent, ids: ReturnType<typeof identifyingFields>, { catalog, maxPayloadBytes }: KnownDeployment): IntentValidation {
  const entry = catalog?.[intent.notification_type];
  if (catalog !== undefined && entry === undefined) {
    return {
      ok: false,
      reason: 'unknown_notification_type',
      message: `notification_type "${intent.notification_type}" is not in the catalog`,
      ...ids,
    };
  }
  // Before anything serialises the payload again (JSON.stringify recurses on nesting).
  const unfit = payloadValueProblem(intent.payload);
  if (unfit !== undefined) return { ok: false, ...unfit, ...ids };
  const payloadBytes = Buffer.byteLength(JSON.stringify(intent.payload), 'utf8');
  if (maxPayloadBytes !== undefined && payloadBytes > maxPayloadBytes) {
    return {
      ok: false,
      reason: 'payload_too_large',
      message: `payload is ${payloadBytes} bytes of JSON; the limit is ${maxPayloadBytes}`,
      ...ids,
    };
  }
  const recipients = normaliseAudience(intent.audience);
  const seen = new Set<string>();
  for (const recipient of recipients) {
    const key = `${recipient.user_id}\u0000${recipient.device_session_id ?? ''}`;
    if (seen.has(key)) {
      return {
        ok: false,
        reason: 'duplicate_recipient',
        message: `recipient user_id "${recipient.user_id}"${recipient.device_session_id ? ` device_session_id "${recipient.device_session_id}"` : ''} appears more than once`,
        ...ids,
      };
    }
    seen.add(key);
  }
  if (entry?.email !== undefined) {
    // The unsubscribe link is the email's own, filled in when it is sent.
    const missing = missingTemplateFields(entry.email, intent.payload).filter((field) => field !== UNSUBSCRIBE_URL_TEMPLATE_FIELD);
    if (missing.length > 0) {
      return {
        ok: false,
        reason: 'template_field_missing',
        message: `payload lacks field(s) the "${intent.notification_type}" email template uses: ${missing.join(', ')}`,
        ...ids,
      };
    }
  }
  return { ok: true, intent, recipients };
}

/**
 * Payload values that cannot be carried as given: nesting deeper than {@link MAX_PAYLOAD_DEPTH}
 * levels, and numbers JSON.parse turned into ±Infinity (beyond ±1.8e308; JSON.stringify would
 * send them on as null). Walked without recursion, so any depth the body allows is answered.
 */
function payloadValueProblem(payload: unknown): { reason: RejectionReason; message: string } | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: payload, path: 'payload', depth: 1 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return { reason: 'payload_number_out_of_range', message: `${shortPath(path)} is a number beyond what JSON numbers carry (at most ±1.8e308); send it as a string` };
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_PAYLOAD_DEPTH) {
      return { reason: 'payload_too_deep', message: `payload nests objects and arrays more than ${MAX_PAYLOAD_DEPTH} levels deep (at ${shortPath(path)})` };
    }
    for (const [key, child] of Object.entries(value)) stack.push({ value: child, path: Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, depth: depth + 1 });
  }
  return undefined;
}

const shortPath = (path: string) => wellFormed(path.length > 120 ? `${path.slice(0, 60)}…${path.slice(-60)}` : path);

function normaliseAudience(audience: Intent['audience']): Recipient[] {
  if (audience.kind === 'user') {
    return [pickRecipient(audience)];
  }
  return audience.recipients.map(pickRecipient);
}

function pickRecipient(r: { user_id: string; email?: string; device_session_id?: string }): Recipient {
  return {
    user_id: r.user_id,
    ...(r.email !== undefined ? { email: r.email } : {}),
    ...(r.device_session_id !== undefined ? { device_session_id: r.device_session_id } : {}),
  };
}

function identifyingFields(parsed: unknown): Pick<InvalidIntent, 'producer' | 'idempotency_key' | 'notification_type'> {
  if (typeof parsed !== 'object' || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const pick = (name: string): string | undefined =>
    typeof record[name] === 'string' ? wellFormed((record[name] as string).slice(0, 256)) : undefined;
  const out: { producer?: string; idempotency_key?: string; notification_type?: string } = {};
  const producer = pick('producer');
  const key = pick('idempotency_key');
  const type = pick('notification_type');
  if (producer !== undefined) out.producer = producer;
  if (key !== undefined) out.idempotency_key = key;
  if (type !== undefined) out.notification_type = type;
  return out;
}

function describeSchemaError(errors: ErrorObject[] | null | undefined): string {
  const error = errors?.[0];
  if (error === undefined) return 'intent does not match the schema';
  const where = error.instancePath === '' ? 'intent' : error.instancePath.slice(1).replaceAll('/', '.');
  if (error.keyword === 'required') {
    return `${where} is missing required field "${(error.params as { missingProperty: string }).missingProperty}"`;
  }
  if (error.keyword === 'discriminator') {
    return `audience.kind must be "user" or "users"`;
  }
  return `${where} ${error.message ?? 'is invalid'}`;
}
