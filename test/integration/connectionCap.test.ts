import { afterEach, describe, expect, it } from 'vitest';
import { connectionRegistry, intent, sendIntent, uid, waitFor } from './support.ts';
import { RawClient } from './wsClient.ts';

// The test stack keeps the default: 10 open connections per user (docs/limits.md).
const CAP = 10;

describe('open connections per user (maxConnectionsPerUser)', () => {
  const opened: RawClient[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
  });

  async function connect(user: string, device: string): Promise<RawClient> {
    const client = await RawClient.as(user, device);
    opened.push(client);
    return client;
  }

  it('closes the oldest with session_invalidated (connection_limit) when one more connects, and the newest still get pushes', async () => {
    const user = uid('u-cap');
    const first = await connect(user, 'device-0');
    const others: RawClient[] = [];
    for (let i = 1; i < CAP; i += 1) others.push(await connect(user, `device-${i}`));
    await new Promise((r) => setTimeout(r, 200));
    expect(first.closed).toBeUndefined();

    const newest = await connect(user, 'device-new');

    const frame = await first.waitForFrame('session_invalidated');
    expect(frame).toEqual({ type: 'session_invalidated', reason: 'connection_limit', device_session_id: 'device-0' });
    await first.waitFor('the oldest closed', () => first.closed);
    const registered = await waitFor('the registry at the cap', async () => {
      const list = await connectionRegistry.listForUser(user, { consistent: true });
      return list.length === CAP && list;
    });
    expect(registered.map((c) => c.device_session_id)).not.toContain('device-0');
    expect(others.every((c) => c.closed === undefined)).toBe(true);
    await sendIntent(intent('ping', { user_id: user }, { n: 1 }));
    await newest.waitFor('the push on the newest connection', () => newest.events().length === 1);
    await others[0]!.waitFor('the push on an older one still open', () => others[0]!.events().length === 1);
  });

  it('ends at exactly the cap when many connect at once: the oldest are closed, each told why', async () => {
    const user = uid('u-burst');
    const clients = await Promise.all(Array.from({ length: CAP + 5 }, (_, i) => connect(user, `burst-${i}`)));
    const registered = await waitFor('the registry at the cap', async () => {
      const list = await connectionRegistry.listForUser(user, { consistent: true });
      return list.length === CAP && list;
    }, 20_000);
    const stillOpen = await waitFor('exactly the cap of sockets open', async () => {
      const open = clients.filter((c) => c.closed === undefined);
      return open.length === CAP && open;
    }, 20_000);
    const closed = clients.filter((c) => c.closed !== undefined);
    expect(closed).toHaveLength(5);
    for (const client of closed) expect(client.frames.filter((f) => f.type === 'session_invalidated')).toEqual([expect.objectContaining({ reason: 'connection_limit' })]);
    expect(stillOpen.length).toBe(registered.length);
    // Every open socket is a registered one: pushes reach each of them.
    await sendIntent(intent('ping', { user_id: user }, { n: 2 }));
    for (const client of stillOpen) await client.waitFor('the push', () => client.events().length === 1);
  });

  it('closes the oldest connection of a device session past its own cap (5), while the user is under theirs', async () => {
    const user = uid('u-session-cap');
    const other = await connect(user, 'phone');
    const tabs: RawClient[] = [];
    for (let i = 0; i < 5; i += 1) tabs.push(await connect(user, 'browser'));
    await new Promise((r) => setTimeout(r, 200));
    expect(tabs[0]!.closed).toBeUndefined();

    const sixth = await connect(user, 'browser');

    expect(await tabs[0]!.waitForFrame('session_invalidated')).toEqual({ type: 'session_invalidated', reason: 'connection_limit', device_session_id: 'browser' });
    await tabs[0]!.waitFor('the session\'s oldest closed', () => tabs[0]!.closed);
    const registered = await waitFor('five browser connections and the phone', async () => {
      const list = await connectionRegistry.listForUser(user, { consistent: true });
      return list.length === 6 && list;
    });
    expect(registered.filter((c) => c.device_session_id === 'browser')).toHaveLength(5);
    expect([other, ...tabs.slice(1), sixth].every((c) => c.closed === undefined)).toBe(true);
  });
});
