import type { NotificationStore, RouteQueue } from '../ports.ts';
import { deliveryMessageFor, type Clock, type DeliveryMessage } from '../types.ts';

export interface SweepConfig {
  readonly dueShards: number;
  /** A due route gets this long to be picked up by its own message before the sweeper steps in. */
  readonly graceMs: number;
  /** After re-enqueueing a route, wait this long before sweeping it again. */
  readonly requeueBackoffMs: number;
  /** Routes looked at per shard per run. */
  readonly limitPerShard: number;
}

export interface SweepResult {
  readonly requeued: number;
  readonly deadLettered: number;
  readonly cancelled: number;
  readonly skipped: number;
}

/**
 * Safety net that makes "every route reaches a terminal state" true: finds routes that are due
 * (past the grace) in the sparse due index and re-enqueues them, or dead-letters those whose
 * attempts are spent by crashes. Idempotent with the lease: a duplicate message is a no-op.
 */
export class SweepDueRoutes {
  public constructor(
    private readonly config: SweepConfig,
    private readonly deps: { readonly store: NotificationStore; readonly routeQueue: RouteQueue; readonly clock: Clock },
  ) {}

  public async run(): Promise<SweepResult> {
    const now = this.deps.clock.now();
    const shards = Array.from({ length: this.config.dueShards }, (_, shard) => shard);
    const results = await Promise.all(shards.map((shard) => this.sweepShard(shard, now)));
    return results.reduce(
      (sum, r) => ({
        requeued: sum.requeued + r.requeued,
        deadLettered: sum.deadLettered + r.deadLettered,
        cancelled: sum.cancelled + r.cancelled,
        skipped: sum.skipped + r.skipped,
      }),
      { requeued: 0, deadLettered: 0, cancelled: 0, skipped: 0 },
    );
  }

  private async sweepShard(shard: number, now: number): Promise<SweepResult> {
    const { store, routeQueue } = this.deps;
    const due = await store.listDueRoutes(shard, now - this.config.graceMs, this.config.limitPerShard);
    const requeue: DeliveryMessage[] = [];
    let deadLettered = 0;
    let cancelled = 0;
    let skipped = 0;
    for (const route of due) {
      const leaseExpired = route.lease_expires_at === undefined || route.lease_expires_at <= now;
      if (route.cancel_requested !== undefined && leaseExpired) {
        if ((await store.cancelRoute(route, route.cancel_requested, now)) === 'cancelled') cancelled += 1;
        else skipped += 1;
        continue;
      }
      if (route.attempts >= route.max_attempts && leaseExpired) {
        if (await store.deadLetterCrashedRoute(route, now)) deadLettered += 1;
        else skipped += 1;
        continue;
      }
      // Postpone first: if the route moved meanwhile the condition fails and we leave it alone.
      if (await store.postponeDue(route, now + this.config.requeueBackoffMs)) {
        requeue.push(deliveryMessageFor(route));
      } else {
        skipped += 1;
      }
    }
    await routeQueue.enqueue(requeue);
    return { requeued: requeue.length, deadLettered, cancelled, skipped };
  }
}
