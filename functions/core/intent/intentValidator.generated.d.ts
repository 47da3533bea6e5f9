// Types of the generated validator beside it (scripts/writeSchemas.ts).
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { Intent } from './intentSchema.ts';

declare const validate: ValidateFunction<Intent>;
export default validate;
