/** Base class of every error raised by Herald's domain code. Callers branch on the class. */
export class HeraldError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HeraldError';
  }
}

/** A configuration value (catalog, retry policy, construct prop) is invalid. */
export class ConfigurationError extends HeraldError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

/** A transient failure of a dependency: the unit of work must be retried. */
export class TransientError extends HeraldError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** Another invocation holds the acceptance lease of the same notification; retry later. */
export class AcceptanceInProgressError extends TransientError {
  public constructor(
    public readonly notificationId: string,
    /** How long the other invocation's lease still runs, when known: a retry before then cannot take over. */
    public readonly leaseRemainingMs?: number,
  ) {
    super(`notification ${notificationId} is being accepted by another invocation`);
    this.name = 'AcceptanceInProgressError';
  }
}

/** A channel attempt failed; `classification` is one of the fixed failure classifications. */
export class DispatchError extends HeraldError {
  public constructor(
    public readonly classification: import('./types.ts').FailureClassification,
    message: string,
    public readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DispatchError';
  }
}
