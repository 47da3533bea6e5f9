import { serialiseFrame } from './frames.ts';
import { ConnectionGoneError, type ConnectionRegistry, type ConnectionSender } from './pushPorts.ts';

/**
 * Publisher API for ending sessions (used by the lifecycle service): every matching connection
 * gets a `session_invalidated` frame, then is closed and removed from the registry.
 */
export class SessionInvalidator {
  public constructor(private readonly deps: { readonly registry: ConnectionRegistry; readonly sender: ConnectionSender }) {}

  /** Invalidates one device session of a user, or all of them when `deviceSessionId` is omitted. Returns how many connections were closed. */
  public async invalidate(userId: string, options: { deviceSessionId?: string; reason: string }): Promise<number> {
    const connections = (await this.deps.registry.listForUser(userId)).filter(
      (c) => options.deviceSessionId === undefined || c.device_session_id === options.deviceSessionId,
    );
    await Promise.all(
      connections.map(async (connection) => {
        const frame = serialiseFrame({
          type: 'session_invalidated',
          reason: options.reason,
          ...(connection.device_session_id !== undefined ? { device_session_id: connection.device_session_id } : {}),
        });
        try {
          await this.deps.sender.send(connection.connection_id, frame);
          await this.deps.sender.close(connection.connection_id);
        } catch (error) {
          if (!(error instanceof ConnectionGoneError)) throw error;
        }
        await this.deps.registry.remove(userId, connection.connection_id);
      }),
    );
    return connections.length;
  }
}
