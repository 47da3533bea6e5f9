import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_BUDGET, REPLAY_WINDOW_MS } from '../../functions/core/push/ClientBudget.ts';
import { addFault, clearFaults, faults, connectionRegistry, documents, intent, outputs, sendIntent, uid, waitFor } from './support.ts';
import { RawClient } from './wsClient.ts';

// The test stack keeps the defaults (docs/limits.md): 60 messages a minute with a burst of 20;
// 10 resumes and 10,000 replayed events per connection per minute.
const { messageBurst, resumesPerMinute } = DEFAULT_CLIENT_BUDGET;

/** Runs `act` inside one replay window, so a count cannot reset halfway through it. */
async function withinOneWindow<T>(act: () => Promise<T>, needsMs = 15_000): Promise<T> {
  const left = REPLAY_WINDOW_MS - (Date.now() % REPLAY_WINDOW_MS);
  if (left < needsMs) await new Promise((r) => setTimeout(r, left + 50));
  return act();
}

describe('per-connection budgets', () => {
  const opened: RawClient[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
    await clearFaults('dynamodb');
  });
  async function connect(user: string, device: string): Promise<RawClient> {
    const client = await RawClient.as(user, device);
    opened.push(client);
    return client;
  }
  const errors = (client: RawClient) => client.frames.filter((f) => f.type === 'error');

  it('a resume loop gets rate_limited with retry_after_ms, then is closed if it keeps going; the same user\'s other connection keeps receiving', async () => {
    const user = uid('u-resume-loop');
    const calm = await connect(user, 'calm');
    const looping = await connect(user, 'loop');
    await sendIntent(intent('ping', { user_id: user }, { n: 0 }));
    const first = (await calm.waitFor('the first event', () => calm.events()[0]))!;

    await withinOneWindow(async () => {
      // Every resume within the budget is answered in full.
      for (let n = 1; n <= resumesPerMinute; n += 1) {
        looping.send({ action: 'resume', cursor: '' });
        await looping.waitFor(`resume ${n} answered`, () => looping.frames.filter((f) => f.type === 'replay_complete').length === n);
      }
      looping.send({ action: 'resume', cursor: first['cursor'] });
      const refused = await looping.waitFor('rate_limited', () => errors(looping)[0]);
      expect(refused).toMatchObject({ type: 'error', code: 'rate_limited', retry_after_ms: expect.any(Number) });
      expect(refused['retry_after_ms']).toBeGreaterThan(0);
      expect(refused['retry_after_ms']).toBeLessThanOrEqual(REPLAY_WINDOW_MS);
      expect(looping.closed).toBeUndefined();
      // Nothing was replayed for the refused resume.
      expect(looping.frames.filter((f) => f.type === 'replay_complete')).toHaveLength(resumesPerMinute);

      looping.send({ action: 'resume', cursor: first['cursor'] });
      await looping.waitFor('closed', () => looping.closed);
    });
    expect(errors(looping).map((f) => f['code'])).toEqual(['rate_limited', 'rate_limited']);
    expect(errors(looping)[1]!['message']).toMatch(/closing the connection/);
    await waitFor('the looping connection gone from the registry', async () =>
      !(await connectionRegistry.listForUser(user, { consistent: true })).some((c) => c.device_session_id === 'loop'));

    await sendIntent(intent('ping', { user_id: user }, { n: 1 }));
    await calm.waitFor('the calm connection still receives', () => calm.events().length === 2);
    expect(calm.closed).toBeUndefined();
  });

  it('a ping flood gets rate_limited after the burst and is closed when it goes on; a connection that waits is served again', async () => {
    const user = uid('u-ping-flood');
    const flood = await connect(user, 'flood');
    // One message at a time, so each is answered before the next (the bucket is the function's).
    let sent = 0;
    while (errors(flood).length === 0 && sent < messageBurst * 3) {
      flood.send({ action: 'ping' });
      sent += 1;
      await flood.waitFor(`answer ${sent}`, () => flood.frames.length === sent);
    }
    const pongs = flood.frames.filter((f) => f.type === 'pong').length;
    // The burst is served in full. The offline stack runs up to two execution environments of the
    // connection function, each with its own bucket, so up to twice the burst may be.
    expect(pongs).toBeGreaterThanOrEqual(messageBurst);
    expect(pongs).toBeLessThanOrEqual(messageBurst * 2 + 2);
    expect(errors(flood)[0]).toMatchObject({ code: 'rate_limited', retry_after_ms: expect.any(Number) });

    // Waiting out retry_after_ms is honoured: the next message is served, and the warning forgotten.
    await new Promise((r) => setTimeout(r, Number(errors(flood)[0]!['retry_after_ms']) + 100));
    flood.send({ action: 'ping' });
    await flood.waitFor('served after waiting', () => flood.frames.at(-1)?.type === 'pong');
    expect(flood.closed).toBeUndefined();

    // A flood that goes on past its warning is closed; the user's other connection is not.
    const calm = await connect(user, 'calm');
    for (let n = 0; n < messageBurst * 4 && flood.closed === undefined; n += 1) {
      flood.send({ action: 'ping' });
      await new Promise((r) => setTimeout(r, 10));
    }
    await flood.waitFor('the flood closed', () => flood.closed);
    expect(errors(flood).at(-1)!['message']).toMatch(/closing the connection/);
    calm.send({ action: 'ping' });
    await calm.waitFor('the calm connection served', () => calm.frames.at(-1)?.type === 'pong');
  });

  it('charges a resume once when the answer to its write is lost and the SDK sends it again', async () => {
    const user = uid('u-resume-ambiguous');
    const client = await connect(user, 'phone');
    const fault = await addFault('dynamodb', { operation: 'UpdateItem', caller: 'Connection', match: [user, 'replay_token'], effect: 'ambiguous', times: 1 });

    await withinOneWindow(async () => {
      client.send({ action: 'resume', cursor: '' });
      await client.waitFor('the resume answered', () => client.frames.find((f) => f.type === 'replay_complete'));
    });

    expect((await faults('dynamodb')).find((f) => f.id === fault.id)).toMatchObject({ hits: 1 });
    const [entry] = await connectionRegistry.listForUser(user, { consistent: true });
    const { Item } = await documents.send(new GetCommand({ TableName: outputs.connectionsTableName, Key: { user_id: user, connection_id: entry!.connection_id }, ConsistentRead: true }));
    expect(Item?.['replay_resumes']).toBe(1);
    expect(errors(client)).toEqual([]);
  });
});

describe('the replay ledger on DynamoDB Local: exact under concurrency', () => {
  const charge = (user: string, connectionId: string, events: number, windowStart: number, limits = { maxResumes: 5, maxEvents: 100 }) =>
    connectionRegistry.chargeReplay({ userId: user, connectionId, windowStart, events, ...limits });

  it('of 20 concurrent resumes, exactly the limit are charged; a new window starts again; an unregistered connection is not charged', async () => {
    const user = uid('u-ledger');
    await connectionRegistry.register({ user_id: user, connection_id: 'c1', connected_at: Date.now() });
    const window = Math.floor(Date.now() / REPLAY_WINDOW_MS) * REPLAY_WINDOW_MS;

    const results = await Promise.all(Array.from({ length: 20 }, () => charge(user, 'c1', 0, window)));

    expect(results.filter((r) => r.kind === 'charged')).toHaveLength(5);
    expect(results.filter((r) => r.kind === 'over')).toHaveLength(15);
    expect(await charge(user, 'c1', 0, window + REPLAY_WINDOW_MS)).toEqual({ kind: 'charged' });
    expect(await charge(user, 'unknown', 0, window)).toEqual({ kind: 'unregistered' });
  });

  it('lets a resume in while the window\'s events are under the budget, then refuses; tells "warned" from the second refusal on', async () => {
    const user = uid('u-ledger-events');
    await connectionRegistry.register({ user_id: user, connection_id: 'c1', connected_at: Date.now() });
    const window = Math.floor(Date.now() / REPLAY_WINDOW_MS) * REPLAY_WINDOW_MS;

    expect(await charge(user, 'c1', 60, window)).toEqual({ kind: 'charged' });
    // 60 < 100: admitted though it takes the window to 160.
    expect(await charge(user, 'c1', 100, window)).toEqual({ kind: 'charged' });
    expect(await charge(user, 'c1', 1, window)).toEqual({ kind: 'over', warned: false });
    expect(await charge(user, 'c1', 1, window)).toEqual({ kind: 'over', warned: true });
    // The registry's listing carries none of the bookkeeping.
    expect(await connectionRegistry.listForUser(user, { consistent: true })).toEqual([{ user_id: user, connection_id: 'c1', connected_at: expect.any(Number) }]);
  });
});
