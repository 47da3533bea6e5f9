import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { HeraldProducer, IntentRefusedError, type IntentV1 } from '../../producer/index.ts';

// Refusals happen before anything is sent: the client here fails any request it is asked to make.
const noRequests = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
noRequests.send = (async () => {
  throw new Error('a refused intent must not be sent');
}) as never;

const queueUrl = 'http://127.0.0.1:4566/000000000000/intake';
const welcome: IntentV1 = {
  notification_type: 'welcome',
  producer: 'accounts',
  idempotency_key: 'signup-1',
  audience: { kind: 'user', user_id: 'u-1', email: 'ada@example.com' },
  payload: { name: 'Ada' },
};
const catalog = { welcome: { channels: ['email' as const], email: { subject: 'Hi {{name}}', text: 'Hello {{name}}' } } };

async function refusal(producer: HeraldProducer, intent: unknown): Promise<IntentRefusedError> {
  const error = await producer.send(intent as IntentV1).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(IntentRefusedError);
  return error as IntentRefusedError;
}

describe('HeraldProducer: what it refuses before sending', () => {
  const producer = new HeraldProducer({ queueUrl, sqs: noRequests });

  it('a schema violation, naming the field', async () => {
    const error = await refusal(producer, { ...welcome, idempotency_key: '' });
    expect(error.reason).toBe('schema_violation');
    expect(error.message).toBe('intent refused (schema_violation): idempotency_key must NOT have fewer than 1 characters');
  });

  it('a recipient listed twice', async () => {
    const error = await refusal(producer, { ...welcome, audience: { kind: 'users', recipients: [{ user_id: 'u-1' }, { user_id: 'u-1' }] } });
    expect(error.reason).toBe('duplicate_recipient');
    expect(error.detail).toBe('recipient user_id "u-1" appears more than once');
  });

  it('what cannot be written as JSON, and what is not an object', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect((await refusal(producer, { ...welcome, payload: cyclic })).reason).toBe('malformed_json');
    expect((await refusal(producer, { ...welcome, payload: { n: 1n } })).reason).toBe('malformed_json');
    expect((await refusal(producer, undefined)).reason).toBe('schema_violation');
  });

  it('an intent over SQS’s 256 KiB', async () => {
    expect((await refusal(producer, { ...welcome, payload: { text: 'x'.repeat(256 * 1024) } })).reason).toBe('intent_too_large');
  });

  it('with the deployment’s catalog and limit: unknown types, missing template fields, large payloads', async () => {
    const informed = new HeraldProducer({ queueUrl, sqs: noRequests, catalog, maxPayloadBytes: 1024 });
    expect((await refusal(informed, { ...welcome, notification_type: 'welcom' })).detail).toBe('notification_type "welcom" is not in the catalog');
    expect((await refusal(informed, { ...welcome, payload: {} })).reason).toBe('template_field_missing');
    expect((await refusal(informed, { ...welcome, payload: { name: 'x'.repeat(1100) } })).detail).toBe('payload is 1111 bytes of JSON; the limit is 1024');
  });

  it('without them, leaves those checks to Herald (the intent goes out)', async () => {
    const error = await producer.send({ ...welcome, notification_type: 'welcom', payload: { name: 'x'.repeat(40_000) } }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(IntentRefusedError);
    expect((error as Error).message).toBe('a refused intent must not be sent');
  });
});

describe('HeraldProducer options', () => {
  it('refuses a queue URL that is not one, and a payload limit that is not a byte count', () => {
    expect(() => new HeraldProducer({ queueUrl: 'HeraldIntakeQueue' })).toThrow(`queueUrl must be the intake queue's URL (output IntakeQueueUrl), got "HeraldIntakeQueue"`);
    expect(() => new HeraldProducer({ queueUrl, maxPayloadBytes: 0 })).toThrow('maxPayloadBytes must be a positive whole number of bytes, got 0');
    expect(() => new HeraldProducer(undefined as never)).toThrow(TypeError);
  });
});
