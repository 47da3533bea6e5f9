import { DispatchError } from '../errors.ts';
import type { ChannelDispatcher } from '../ports.ts';

/**
 * Push channel until the WebSocket push service is deployed: every route fails at once with a
 * clear classification instead of pretending to succeed.
 */
export class PushUnavailableDispatcher implements ChannelDispatcher {
  public async dispatch(): Promise<void> {
    throw new DispatchError(
      'push_channel_unavailable',
      'push delivery is not available in this deployment (no WebSocket API is configured)',
      false,
    );
  }
}
