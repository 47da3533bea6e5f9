/** Reconnect schedule: capped exponential backoff with ±jitter (seed: push-client). */
export interface ReconnectPolicy {
  /** First delay. @default 500 ms */
  readonly baseMs: number;
  /** Cap. @default 30 s */
  readonly maxMs: number;
  /** ± fraction. @default 0.2 */
  readonly jitter: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { baseMs: 500, maxMs: 30_000, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (0-based): base·2^attempt, capped, then ±jitter. */
export function reconnectDelay(attempt: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.max(0, Math.round(base * (1 + (random() * 2 - 1) * policy.jitter)));
}
