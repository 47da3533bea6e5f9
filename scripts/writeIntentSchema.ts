import { writeFileSync } from 'node:fs';
import { intentSchema } from '../functions/core/intent/intentSchema.ts';

/** Writes schema/intent.v1.schema.json from the TypeScript source of truth (checked by a unit test). */
export const INTENT_SCHEMA_PATH = 'schema/intent.v1.schema.json';
export const renderIntentSchema = () => `${JSON.stringify(intentSchema, null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(INTENT_SCHEMA_PATH, renderIntentSchema());
  console.log(`wrote ${INTENT_SCHEMA_PATH}`);
}
