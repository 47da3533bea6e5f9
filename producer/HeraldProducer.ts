import { SQSClient } from '@aws-sdk/client-sqs';
import { chunkWithin } from '../functions/adapters/chunk.ts';
import { Coalescer } from '../functions/adapters/Coalescer.ts';
import { mapWithConcurrency } from '../functions/core/mapWithConcurrency.ts';
import { sendMessageBatch } from '../functions/adapters/sendMessageBatch.ts';
import { sqsSafeJson } from '../functions/adapters/sqsSafeJson.ts';
import { SQS_BATCH_BYTES, SQS_BATCH_SIZE } from '../functions/core/constants.ts';
import { validateIntentBeforeSending, type KnownDeployment } from '../functions/core/intent/validateIntent.ts';
import { notificationIdFor } from '../functions/core/route/identifiers.ts';
import { IntentRefusedError } from './IntentRefusedError.ts';
import type { HeraldProducerOptions, IntentRefusalReason, IntentV1, SentIntent } from './types.ts';

const SEND_CONCURRENCY = 8;

/** One send() waiting for its batch; an object per call, so two equal intents are two messages. */
interface Outgoing {
  readonly body: string;
}

/**
 * Sends notification intents to Herald's intake queue from a producer service.
 *
 * Each intent is checked against the contract first, as Herald's acceptance would check it, so a
 * bad one fails at the call that made it instead of becoming a rejection record to look up later.
 * The sends made in one turn of the event loop go out together, ten to a SendMessageBatch: fewer
 * SQS requests for the producer, and fuller batches for Herald's event source, which is what makes
 * a delivery cheapest (docs/performance.md).
 */
export class HeraldProducer {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly known: KnownDeployment;

  public constructor(options: HeraldProducerOptions) {
    if (typeof options?.queueUrl !== 'string' || !/^https?:\/\/\S+$/.test(options.queueUrl)) {
      throw new TypeError(`queueUrl must be the intake queue's URL (output IntakeQueueUrl), got ${JSON.stringify(options?.queueUrl)}`);
    }
    const { maxPayloadBytes, catalog } = options;
    if (maxPayloadBytes !== undefined && (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1)) {
      throw new RangeError(`maxPayloadBytes must be a positive whole number of bytes, got ${maxPayloadBytes}`);
    }
    this.queueUrl = options.queueUrl;
    this.sqs = options.sqs ?? new SQSClient({});
    this.known = { ...(catalog !== undefined ? { catalog } : {}), ...(maxPayloadBytes !== undefined ? { maxPayloadBytes } : {}) };
  }

  /**
   * Checks `intent` and puts it on the intake queue; resolves once SQS holds it. Herald accepts it
   * asynchronously: a refusal only Herald can make (`idempotency_conflict`, `recipient_deleted`, or
   * a check this producer was not given the catalog or limit for) becomes a rejection record.
   *
   * Rejects with {@link IntentRefusedError}, sending nothing, when the intent breaks the contract;
   * with SQS's error when it could not be sent. Sending the same intent again is always safe: the
   * same producer and idempotency_key is the same notification, delivered once.
   */
  public async send(intent: IntentV1): Promise<SentIntent> {
    const body = intentBody(intent);
    const checked = validateIntentBeforeSending(body, this.known);
    if (!checked.ok) throw new IntentRefusedError(checked.reason as IntentRefusalReason, checked.message);
    const messageId = await this.sends.load({ body });
    return { notificationId: notificationIdFor(checked.intent.producer, checked.intent.idempotency_key), messageId };
  }

  private readonly sends = new Coalescer<Outgoing, string>(async (outgoing) => {
    const results = new Map<Outgoing, string | Error>();
    const batches = chunkWithin(outgoing, SQS_BATCH_SIZE, SQS_BATCH_BYTES, (o) => Buffer.byteLength(o.body, 'utf8'));
    await mapWithConcurrency(batches, SEND_CONCURRENCY, async (batch) => {
      const outcomes = await sendMessageBatch(this.sqs, this.queueUrl, batch.map((o) => o.body)).catch((error: unknown) =>
        batch.map(() => (error instanceof Error ? error : new Error(String(error)))),
      );
      batch.forEach((o, index) => results.set(o, outcomes[index]!));
    });
    return results;
  });
}

/** The intent as a message body SQS takes; one that cannot be written as JSON is refused. */
function intentBody(intent: IntentV1): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(intent);
  } catch (error) {
    throw new IntentRefusedError('malformed_json', `the intent cannot be written as JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new IntentRefusedError('schema_violation', 'intent must be an object');
  return sqsSafeJson(json);
}
