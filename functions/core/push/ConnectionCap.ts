import { serialiseFrame } from './frames.ts';
import { ConnectionGoneError, type ConnectionRegistry, type ConnectionSender } from './pushPorts.ts';
import type { ConnectionRecord } from './pushTypes.ts';

/** The reason a connection closed to make room for a newer one is given (`session_invalidated`). */
export const CONNECTION_LIMIT_REASON = 'connection_limit';

export interface ConnectionCapConfig {
  /** Open connections a user may have; a newer one closes the oldest beyond it. */
  readonly maxPerUser: number;
  /** Open connections one device session of a user may have (its tabs, say); the same rule within the session. */
  readonly maxPerDeviceSession: number;
  /** A victim whose `$connect` is still running cannot be posted to yet: try again this often… */
  readonly retryEveryMs?: number;
  /** …for at most this long after it connected (longer: it is gone, not connecting). */
  readonly connectingForMs?: number;
}

/**
 * The connections to close so that each device session of the user has at most
 * `maxPerDeviceSession` and the user at most `maxPerUser`, the newest kept: the oldest by
 * `connected_at` (then by id), never the connection that is connecting now. Connections without a
 * device session count only towards the user's cap. Every `$connect` computes this from the same
 * strongly consistent list, so concurrent ones agree on the victims and the last to read sees every
 * connection: the registry ends bounded whatever the interleaving.
 */
export function connectionsBeyondCap(
  connections: readonly ConnectionRecord[],
  newConnectionId: string,
  caps: Pick<ConnectionCapConfig, 'maxPerUser' | 'maxPerDeviceSession'>,
): ConnectionRecord[] {
  const oldestFirst = connections
    .filter((c) => c.connection_id !== newConnectionId)
    .sort((a, b) => a.connected_at - b.connected_at || a.connection_id.localeCompare(b.connection_id));
  const victims = new Set<ConnectionRecord>();
  const sessions = new Set(connections.map((c) => c.device_session_id).filter((s) => s !== undefined));
  for (const session of sessions) {
    const excess = connections.filter((c) => c.device_session_id === session).length - caps.maxPerDeviceSession;
    for (const victim of oldestFirst.filter((c) => c.device_session_id === session).slice(0, Math.max(0, excess))) victims.add(victim);
  }
  const excess = connections.length - victims.size - caps.maxPerUser;
  for (const victim of oldestFirst.filter((c) => !victims.has(c)).slice(0, Math.max(0, excess))) victims.add(victim);
  return oldestFirst.filter((c) => victims.has(c));
}

/**
 * Keeps each user's connections under the cap (docs/limits.md): after a connection registers, the
 * oldest beyond the cap get a `session_invalidated` frame with reason `connection_limit` (the client
 * SDK does not reconnect after it, so two devices cannot take turns closing each other), are closed
 * and leave the registry. A leaked token or an app that opens a socket per tab can then not
 * multiply the posts every notification to that user costs.
 */
export class ConnectionCap {
  public constructor(
    private readonly deps: { readonly registry: Pick<ConnectionRegistry, 'listForUser' | 'claim'>; readonly sender: ConnectionSender; readonly now: () => number },
    private readonly config: ConnectionCapConfig,
  ) {}

  /** Closes what the new connection put beyond the cap; returns the ids closed. */
  public async enforce(userId: string, newConnectionId: string): Promise<string[]> {
    const connections = await this.deps.registry.listForUser(userId, { consistent: true });
    const victims = connectionsBeyondCap(connections, newConnectionId, this.config);
    await Promise.all(victims.map((victim) => this.closeOne(userId, victim)));
    return victims.map((v) => v.connection_id);
  }

  private async closeOne(userId: string, victim: ConnectionRecord): Promise<void> {
    // Concurrent $connects pick the same victims: the one whose conditional delete removes the
    // entry tells and closes it, once (and no push is posted to it from then on).
    if (!(await this.deps.registry.claim(userId, victim.connection_id))) return;
    const frame = serialiseFrame({
      type: 'session_invalidated',
      reason: CONNECTION_LIMIT_REASON,
      ...(victim.device_session_id !== undefined ? { device_session_id: victim.device_session_id } : {}),
    });
    const retryEveryMs = this.config.retryEveryMs ?? 200;
    const connectingForMs = this.config.connectingForMs ?? 10_000;
    for (;;) {
      try {
        await this.deps.sender.send(victim.connection_id, frame);
        await this.deps.sender.close(victim.connection_id);
        break;
      } catch (error) {
        if (!(error instanceof ConnectionGoneError)) throw error;
        // Gone — or still in its own `$connect` (API Gateway answers 410 until that returns): a
        // connection that registered moments ago is given the time its `$connect` takes.
        if (this.deps.now() - victim.connected_at > connectingForMs) break;
        await new Promise((resolve) => setTimeout(resolve, retryEveryMs));
      }
    }
  }
}
