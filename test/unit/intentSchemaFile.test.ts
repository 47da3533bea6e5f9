import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INTENT_SCHEMA_PATH, renderIntentSchema } from '../../scripts/writeIntentSchema.ts';

describe('schema/intent.v1.schema.json', () => {
  it('is exactly what the TypeScript source of truth renders (run `npm run schema` after changing it)', () => {
    expect(readFileSync(INTENT_SCHEMA_PATH, 'utf8')).toBe(renderIntentSchema());
  });
});
