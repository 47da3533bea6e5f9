import { createHash } from 'node:crypto';

/**
 * Shard of the sparse "due routes" index a route lives in. Spreading routes over shards keeps any
 * one index partition below DynamoDB's per-partition write limit during a large fan-out.
 */
export function dueShardOf(notificationId: string, routeId: string, shards: number): number {
  const digest = createHash('sha1').update(`${notificationId}/${routeId}`).digest();
  return digest.readUInt32BE(0) % shards;
}
