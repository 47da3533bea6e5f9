import type { IntentRefusalReason } from './types.ts';

/** The intent breaks the contract; nothing was sent. `reason` is the rejection reason Herald would have recorded. */
export class IntentRefusedError extends Error {
  public constructor(
    public readonly reason: IntentRefusalReason,
    public readonly detail: string,
  ) {
    super(`intent refused (${reason}): ${detail}`);
    this.name = 'IntentRefusedError';
  }
}
