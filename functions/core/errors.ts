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

/**
 * An acceptance stopped before its invocation's deadline with work left (a large fan-out to the
 * inbox): it gives up its lease, and the next receive of the intent resumes where it stopped.
 */
export class AcceptanceIncompleteError extends TransientError {
  public constructor(
    public readonly notificationId: string,
    /** Recipients with the item now, and those still without it. */
    public readonly done: number,
    public readonly left: number,
    /** Items this acceptance added: more than 0 means the intent got further. */
    public readonly addedHere: number,
  ) {
    super(`notification ${notificationId}: added ${done} inbox item(s), ${left} left for the next receive`);
    this.name = 'AcceptanceIncompleteError';
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
