import type { EmailFeedback, EmailFeedbackRecord, SuppressionEntry } from './emailFeedback.ts';
import type { RouteAddress } from '../types.ts';

/** Where a route's email outcome is kept (the route's own item). */
export interface EmailFeedbackStore {
  /**
   * Records `feedback` on the route unless it already holds an outcome of equal or higher rank
   * (emailFeedback.ts OUTCOME_RANK): one conditional write, so events arriving in any order, or
   * twice, leave the same answer.
   */
  recordEmailFeedback(route: RouteAddress, feedback: EmailFeedbackRecord): Promise<'recorded' | 'kept_earlier' | 'route_missing'>;
}

/** Herald's suppression list: addresses no email is sent to (docs/email-feedback.md). */
export interface SuppressionList {
  /** Adds the address unless it is listed already (the first reason is kept). */
  suppress(entry: SuppressionEntry): Promise<'added' | 'already_suppressed'>;
  get(email: string): Promise<SuppressionEntry | undefined>;
  /** False when the address was not listed. */
  remove(email: string): Promise<boolean>;
}

export interface FeedbackResult {
  readonly outcome: EmailFeedbackRecord['outcome'];
  /** What became of the route: `untagged` when the message carried no Herald route tags. */
  readonly route: 'recorded' | 'kept_earlier' | 'route_missing' | 'untagged';
  readonly suppressed: number;
}

/**
 * One SES event: suppress the addresses a hard bounce or a complaint names, and record the outcome
 * on the route that sent the email. Both writes are idempotent, so a redelivered event (SQS and
 * EventBridge deliver at least once) does nothing more; the suppression comes first, so a failure
 * in between leaves the address protected and the retry records the route.
 */
export class RecordEmailFeedback {
  public constructor(private readonly deps: { readonly routes: EmailFeedbackStore; readonly suppressions: Pick<SuppressionList, 'suppress'> }) {}

  public async apply(event: EmailFeedback): Promise<FeedbackResult> {
    const added = await Promise.all(event.suppress.map((entry) => this.deps.suppressions.suppress(entry)));
    const route = event.route === undefined ? 'untagged' : await this.deps.routes.recordEmailFeedback(event.route, event.feedback);
    return { outcome: event.feedback.outcome, route, suppressed: added.filter((a) => a === 'added').length };
  }
}
