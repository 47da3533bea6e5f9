import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILES } from '../../scripts/writeSchemas.ts';

describe('shipped JSON Schema files', () => {
  it.each(Object.entries(SCHEMA_FILES))('%s is exactly what its TypeScript source renders (run `npm run schema` after changing it)', (path, render) => {
    expect(readFileSync(path, 'utf8')).toBe(render());
  });
});
