export { HeraldProducer } from './HeraldProducer.ts';
export { IntentRefusedError } from './IntentRefusedError.ts';
export type {
  HeraldProducerOptions,
  IntentRecipient,
  IntentRefusalReason,
  IntentUserAudience,
  IntentUsersAudience,
  IntentV1,
  ProducerCatalogEntry,
  SentIntent,
} from './types.ts';
