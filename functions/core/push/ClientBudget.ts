import { ConfigurationError } from '../errors.ts';
import { RecentlyUsed } from '../RecentlyUsed.ts';

/**
 * What one connection may ask of Herald (docs/limits.md). Two budgets:
 * - every client message (`ping`, `resume`, anything else) takes a token from a per-connection
 *   bucket kept in the connection function's memory: free, and exact for a connection whose
 *   messages reach one execution environment (API Gateway spreads a busy one over several, each
 *   with its own bucket, so a connection gets at most that many times the budget);
 * - `resume` is also charged on the connection's registry item, exactly: resumes and replayed
 *   events per minute. A resume reads and posts up to 10,000 events, so it is worth a write.
 */
export interface ClientBudgetPolicy {
  /** Steady rate of client messages per connection. */
  readonly messagesPerMinute: number;
  /** Messages a connection may send at once before the rate applies. */
  readonly messageBurst: number;
  /** `resume` messages per connection per minute. */
  readonly resumesPerMinute: number;
  /**
   * Events replayed per connection per minute. A resume is let in while the minute's count is
   * under it, so one resume of the longest replay (10,000 events) always fits.
   */
  readonly replayEventsPerMinute: number;
}

export const DEFAULT_CLIENT_BUDGET: ClientBudgetPolicy = {
  messagesPerMinute: 60,
  messageBurst: 20,
  resumesPerMinute: 10,
  replayEventsPerMinute: 10_000,
};

/** The replay budget's fixed window. */
export const REPLAY_WINDOW_MS = 60_000;

/**
 * Over budget, a connection is told once (an `error` frame `rate_limited` with `retry_after_ms`);
 * a connection that keeps going before it may is closed.
 */
export type BudgetVerdict =
  | { readonly kind: 'allowed' }
  | { readonly kind: 'over'; readonly retryAfterMs: number; readonly close: boolean };

export const ALLOWED: BudgetVerdict = { kind: 'allowed' };

interface Bucket {
  tokens: number;
  at: number;
  /** Told it is over budget since its last allowed message. */
  warned: boolean;
}

/** Token buckets of the connections this execution environment has seen, at most `maxTracked` (least recently used go first). */
export class MessageBuckets {
  private readonly buckets: RecentlyUsed<string, Bucket>;

  public constructor(
    private readonly policy: Pick<ClientBudgetPolicy, 'messagesPerMinute' | 'messageBurst'>,
    maxTracked = 10_000,
  ) {
    this.buckets = new RecentlyUsed(maxTracked);
  }

  public take(connectionId: string, now: number): BudgetVerdict {
    const perMs = this.policy.messagesPerMinute / 60_000;
    let bucket = this.buckets.get(connectionId);
    if (bucket === undefined) {
      bucket = { tokens: this.policy.messageBurst, at: now, warned: false };
      this.buckets.set(connectionId, bucket);
    }
    bucket.tokens = Math.min(this.policy.messageBurst, bucket.tokens + Math.max(0, now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.warned = false;
      return ALLOWED;
    }
    const retryAfterMs = Math.ceil((1 - bucket.tokens) / perMs);
    const close = bucket.warned;
    bucket.warned = true;
    return { kind: 'over', retryAfterMs, close };
  }

  public forget(connectionId: string): void {
    this.buckets.delete(connectionId);
  }
}

/** The exact resume budget, charged on the connection's registry entry. */
export interface ReplayBudget {
  /** Charges one resume that will replay `events` events. */
  charge(request: { readonly userId: string; readonly connectionId: string; readonly events: number }, now: number): Promise<BudgetVerdict>;
}

/** What the registry answers to a charge in one window. */
export type ReplayCharge =
  | { readonly kind: 'charged' }
  /** The window is spent; `warned`: the connection was already told so in this window. */
  | { readonly kind: 'over'; readonly warned: boolean }
  /** No such connection registered (closed meanwhile): nothing to charge. */
  | { readonly kind: 'unregistered' };

/** The registry's side: one atomic charge per resume against the current window. */
export interface ReplayLedger {
  chargeReplay(charge: {
    readonly userId: string;
    readonly connectionId: string;
    readonly windowStart: number;
    readonly events: number;
    readonly maxResumes: number;
    readonly maxEvents: number;
  }): Promise<ReplayCharge>;
}

export class ConnectionReplayBudget implements ReplayBudget {
  public constructor(
    private readonly ledger: ReplayLedger,
    private readonly policy: Pick<ClientBudgetPolicy, 'resumesPerMinute' | 'replayEventsPerMinute'>,
  ) {}

  public async charge(request: { readonly userId: string; readonly connectionId: string; readonly events: number }, now: number): Promise<BudgetVerdict> {
    const windowStart = Math.floor(now / REPLAY_WINDOW_MS) * REPLAY_WINDOW_MS;
    const charged = await this.ledger.chargeReplay({
      ...request,
      windowStart,
      maxResumes: this.policy.resumesPerMinute,
      maxEvents: this.policy.replayEventsPerMinute,
    });
    if (charged.kind !== 'over') return ALLOWED;
    return { kind: 'over', retryAfterMs: windowStart + REPLAY_WINDOW_MS - now, close: charged.warned };
  }
}

/** Checks a budget from configuration; throws naming the first bad field. */
export function validateClientBudget(value: unknown, where: string): ClientBudgetPolicy {
  if (value === undefined) return DEFAULT_CLIENT_BUDGET;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigurationError(`${where} must be an object of ${Object.keys(DEFAULT_CLIENT_BUDGET).join(', ')}`);
  const extra = Object.keys(value).filter((key) => !(key in DEFAULT_CLIENT_BUDGET));
  if (extra.length > 0) throw new ConfigurationError(`${where} has unknown keys ${extra.join(', ')} (it has ${Object.keys(DEFAULT_CLIENT_BUDGET).join(', ')})`);
  const merged = { ...DEFAULT_CLIENT_BUDGET, ...(value as Partial<ClientBudgetPolicy>) };
  for (const [key, max] of [['messagesPerMinute', 6_000], ['messageBurst', 1_000], ['resumesPerMinute', 600], ['replayEventsPerMinute', 1_000_000]] as const) {
    const n = merged[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) throw new ConfigurationError(`${where}.${key} must be an integer from 1 to ${max} (got ${JSON.stringify(n)})`);
  }
  return merged;
}
