import { writeFileSync } from 'node:fs';
import { intentSchema } from '../functions/core/intent/intentSchema.ts';
import { lifecycleSchema } from '../functions/core/lifecycle/lifecycleSchema.ts';

/** The JSON Schema files shipped in schema/, each rendered from its TypeScript source of truth. */
export const SCHEMA_FILES: Record<string, () => string> = {
  'schema/intent.v1.schema.json': () => `${JSON.stringify(intentSchema, null, 2)}\n`,
  'schema/lifecycle.v1.schema.json': () => `${JSON.stringify(lifecycleSchema, null, 2)}\n`,
};

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [path, render] of Object.entries(SCHEMA_FILES)) {
    writeFileSync(path, render());
    console.log(`wrote ${path}`);
  }
}
