import type { RecipientThrottlePolicy } from '../catalog/catalogTypes.ts';

/** One recipient's window of one notification type, and the notification asking to be let in. */
export interface ThrottleRequest {
  readonly userId: string;
  readonly notificationType: string;
  readonly notificationId: string;
  /** Start of the fixed window (epoch ms) the notification's acceptance time falls in. */
  readonly windowStart: number;
  readonly policy: RecipientThrottlePolicy;
}

/**
 * Counts notifications per recipient and type in fixed windows. `admit` is the whole rule: a
 * notification already admitted to the window is admitted again (a retried or resumed acceptance
 * must reach the same answer); otherwise it is admitted while fewer than `limit` are. Exact under
 * concurrency: of any number of racing notifications, exactly `limit` get in.
 */
export interface RecipientThrottle {
  /** Whether each notification is admitted to its window, in the order asked. */
  admit(requests: readonly ThrottleRequest[]): Promise<boolean[]>;
}

/** The start of the window `at` falls in: windows are aligned to the Unix epoch (an hour's starts on the hour). */
export function throttleWindowStart(at: number, policy: RecipientThrottlePolicy): number {
  const windowMs = policy.windowSeconds * 1000;
  return Math.floor(at / windowMs) * windowMs;
}
