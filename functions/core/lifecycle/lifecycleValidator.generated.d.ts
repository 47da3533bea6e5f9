// Types of the generated validator beside it (scripts/writeSchemas.ts).
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { LifecycleEvent } from './lifecycleSchema.ts';

declare const validate: ValidateFunction<LifecycleEvent>;
export default validate;
