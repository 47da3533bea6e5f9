import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../client/HeraldClient.ts';
import { memoryCursorStore } from '../../client/cursorStores.ts';
import type { HeraldEvent, SocketLike } from '../../client/types.ts';
import { actOnConnection, addFault, clearFaults, connectionRegistry, endpoints, eventBuffer, intent, outputs, sendIntent, sessionInvalidator, sqs, uid, waitFor } from './support.ts';
import { runCommand } from '../runCommand.ts';
import { tokenFor } from './wsClient.ts';

const clients: HeraldClient[] = [];

function sdkClient(userId: string, sid = 'phone', options: Partial<ConstructorParameters<typeof HeraldClient>[0]> = {}) {
  let tokens = 0;
  const client = new HeraldClient({
    ...options,
    url: endpoints.websocket,
    token: () => {
      tokens += 1;
      return tokenFor(userId, sid);
    },
    reconnect: { baseMs: 50, maxMs: 400 },
  });
  clients.push(client);
  const received: HeraldEvent[] = [];
  const states: string[] = [];
  client.on('event', (e) => received.push(e));
  client.on('state', (s) => states.push(s));
  const errors: string[] = [];
  client.on('error', (e) => errors.push(`${e.name}: ${e.message}`));
  (client as unknown as { errors: string[] }).errors = errors;
  return { client, received, states, errors, tokens: () => tokens };
}

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function publishBatch(userId: string, from: number, count: number): Promise<void> {
  for (let start = from; start < from + count; start += 10) {
    const entries = Array.from({ length: Math.min(10, from + count - start) }, (_, i) => ({
      Id: String(i),
      MessageBody: JSON.stringify(intent('chat.message', { user_id: userId }, { n: start + i })),
    }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: outputs.intakeQueueUrl, Entries: entries }));
  }
}

describe('client SDK against the offline stack', () => {
  it('delivers 500 events exactly once and in order while the gateway drops the socket at random moments', async () => {
    // Prepare
    const user = uid('sdk');
    const { client, received, states } = sdkClient(user);
    client.connect();
    // A fresh client starts at the head its first resume reads: publish once it has one.
    await waitFor('SDK open with a baseline', async () => client.state === 'open' && client.mark !== undefined);

    // Act: publish 500 events while a dropper closes (or silently kills) the socket now and then.
    const publishing = publishBatch(user, 0, 500);
    let drops = 0;
    let stop = false;
    const dropper = (async () => {
      const deadline = Date.now() + 150_000;
      while (!stop && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 350));
        for (const connection of await connectionRegistry.listForUser(user)) {
          const how = drops % 2 === 0 ? 'drop' : 'vanish';
          const response = await actOnConnection(connection.connection_id, how);
          if (response.ok) drops += 1;
        }
      }
    })();
    await publishing;
    await waitFor('all 500 events stored', async () => (await eventBuffer.getHead(user))?.position === 500, 150_000, 250);
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    await dropper;

    // Assess
    await waitFor('the app to receive 500 events', async () => received.length >= 500, 60_000, 200).catch((error: Error) => {
      throw new Error(`${error.message}; received ${received.length}, last ${received.at(-1)?.position}, state ${client.state}, mark ${JSON.stringify(client.mark)}, drops ${drops}, errors ${JSON.stringify((client as unknown as { errors: string[] }).errors.slice(-5))}`);
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(drops).toBeGreaterThanOrEqual(5);
    expect(states.filter((s) => s === 'reconnecting').length).toBeGreaterThanOrEqual(drops > 0 ? 1 : 0);
    expect(received).toHaveLength(500);
    expect(received.map((e) => e.position)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(new Set(received.map((e) => e.event_id)).size).toBe(500);
    expect(new Set(received.map((e) => (e.payload as { n: number }).n)).size).toBe(500);
  });

  it('replays the rest on the next connection when the socket drops mid-replay: each event once, in order', async () => {
    // Prepare: a device that was offline for 300 events. Its stored mark is the head before them.
    const user = uid('mid-replay');
    const store = memoryCursorStore();
    const before = sdkClient(user, 'phone', { cursorStore: store });
    before.client.connect();
    await waitFor('a baseline stored', async () => (await store.load()) !== undefined);
    before.client.close();
    await publishBatch(user, 0, 300);
    await waitFor('all 300 events stored', async () => (await eventBuffer.getHead(user))?.position === 300, 120_000, 250);

    // Act: the first connection passes on its first replay frame, then the network drops it.
    const framesSeen: string[] = [];
    let receivedAtDrop = -1;
    const { client, received, states } = sdkClient(user, 'phone', {
      cursorStore: store,
      socketFactory: (url) => {
        const socket = new WebSocket(url) as unknown as SocketLike;
        if (framesSeen.length > 0) return socket;
        return droppedAfterFirstReplayFrame(socket, (data) => framesSeen.push(data), () => (receivedAtDrop = received.length));
      },
    });
    client.connect();

    // Assess
    await waitFor('the app to receive 300 events', async () => received.length >= 300, 60_000, 200);
    await new Promise((r) => setTimeout(r, 500));
    expect(JSON.parse(framesSeen[0]!).type).toBe('events');
    expect(receivedAtDrop).toBeGreaterThan(0);
    expect(receivedAtDrop).toBeLessThan(300);
    expect(states).toContain('reconnecting');
    expect(received.map((e) => e.position)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(new Set(received.map((e) => e.event_id)).size).toBe(300);
  });

  it('fires resync once when the server-side stream is reset, then keeps delivering', async () => {
    const user = uid('reset');
    const { client, received } = sdkClient(user);
    const resyncs: unknown[] = [];
    client.on('resync', (r) => resyncs.push(r));
    client.connect();
    await waitFor('open with a baseline', async () => client.state === 'open' && client.mark !== undefined);
    await sendIntent(intent('chat.message', { user_id: user }, { n: 'before' }));
    await waitFor('first event', async () => received.length === 1);

    await eventBuffer.purge(user);
    await sendIntent(intent('chat.message', { user_id: user }, { n: 'after-1' }));
    await waitFor('resync', async () => resyncs.length === 1);
    await sendIntent(intent('chat.message', { user_id: user }, { n: 'after-2' }));
    await waitFor('event after the reset', async () => received.some((e) => (e.payload as { n: string }).n === 'after-2'));
    await new Promise((r) => setTimeout(r, 500));

    expect(resyncs).toHaveLength(1);
    expect(received.map((e) => (e.payload as { n: string }).n)).toEqual(['before', 'after-2']);
  });

  it('asks again for a resume whose function failed, on the same connection, and then receives what it missed', async () => {
    const user = uid('resume-fails');
    const first = sdkClient(user);
    first.client.connect();
    // A fresh client starts at the head its first resume reads: send once it has one.
    await waitFor('a baseline', async () => first.client.mark !== undefined);
    await sendIntent(intent('chat.message', { user_id: user }, { n: 1 }));
    await waitFor('event 1', async () => first.received.length === 1);
    const mark = first.client.mark!;
    first.client.close();
    await sendIntent(intent('chat.message', { user_id: user }, { n: 2 }));
    await waitFor('event 2 stored', async () => (await eventBuffer.getHead(user))?.position === 2);

    // The resume function's reads of this user's stream fail (past the SDK's own retries).
    await addFault('dynamodb', { match: `S#${user}`, status: 500, errorType: 'InternalServerError' });
    try {
      const second = sdkClient(user, 'phone', { cursorStore: memoryCursorStore(mark) });
      second.client.connect();
      await waitFor('the gateway to report the failed resume', async () => second.errors.some((e) => e.includes('Internal server error')), 20_000);
      await clearFaults('dynamodb');
      await sendIntent(intent('chat.message', { user_id: user }, { n: 3 }));

      await waitFor('events 2 and 3', async () => second.received.length >= 2, 20_000);
      expect(second.received.map((e) => [e.position, (e.payload as { n: number }).n])).toEqual([
        [2, 2],
        [3, 3],
      ]);
      expect(second.states).toEqual(['connecting', 'open']);
    } finally {
      await clearFaults('dynamodb');
    }
  });

  it('starts from the head with resync when the server refuses the stored cursor, and delivers what follows', async () => {
    const user = uid('refused-cursor');
    const { client, received, errors } = sdkClient(user, 'phone', { cursorStore: memoryCursorStore({ cursor: 'garbled', position: 900 }) });
    const resyncs: { reason: string }[] = [];
    client.on('resync', (r) => resyncs.push(r));
    client.connect();
    await waitFor('resync', async () => resyncs.length === 1);
    await sendIntent(intent('chat.message', { user_id: user }, { n: 'after' }));

    await waitFor('the event', async () => received.length === 1);
    expect(received[0]).toMatchObject({ position: 1, payload: { n: 'after' } });
    expect(resyncs[0]!.reason).toMatch(/^the server refused the stored cursor: /);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^HeraldServerError: /);
    expect(client.mark?.position).toBe(1);
  });

  it('replaces a half-open connection (no close ever comes) once a ping goes unanswered, and receives what was published meanwhile', async () => {
    // Prepare
    const user = uid('half-open');
    const { client, received, states } = sdkClient(user, 'phone', { pingIntervalMs: 300, pongTimeoutMs: 1_000 });
    client.connect();
    await waitFor('SDK open with a baseline', async () => client.state === 'open' && client.mark !== undefined);
    const [stalled] = await connectionRegistry.listForUser(user);

    // Act: the path dies unnoticed (the gateway stops hearing the client and loses what it posts),
    // then three events are published: the first two while the client still thinks it is open.
    const stall = await actOnConnection(stalled!.connection_id, 'stall');
    expect(stall.status).toBe(200);
    await publishBatch(user, 0, 2);
    await waitFor('both stored', async () => (await eventBuffer.getHead(user))?.position === 2);
    await publishBatch(user, 2, 1);

    // Assess: each once and in order, on another connection; the stalled one never closed.
    await waitFor('the app to receive 3 events', async () => received.length >= 3, 15_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.map((e) => e.position)).toEqual([1, 2, 3]);
    expect(states).toContain('reconnecting');
    const now = (await connectionRegistry.listForUser(user)).map((c) => c.connection_id);
    expect(now).toContain(stalled!.connection_id);
    expect(now).toHaveLength(2);

    // Cut the stalled path (the client's abandoned socket waits on it for a closing handshake).
    await actOnConnection(stalled!.connection_id, 'vanish');
    await connectionRegistry.remove(user, stalled!.connection_id);
  });

  it('stops for good on session invalidation: no reconnect', async () => {
    const user = uid('revoked');
    const { client, tokens } = sdkClient(user);
    const invalidated: unknown[] = [];
    client.on('session_invalidated', (i) => invalidated.push(i));
    client.connect();
    await waitFor('open', async () => client.state === 'open');

    await sessionInvalidator.invalidate(user, { reason: 'session.revoked' });

    await waitFor('invalidated', async () => invalidated.length === 1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(client.state).toBe('closed');
    expect(tokens()).toBe(1);
    expect(await connectionRegistry.listForUser(user)).toHaveLength(0);
  });

  it('connects through the `ws` package where the platform has no WebSocket (Node 20)', async () => {
    // The built package, in a Node process without the global WebSocket (as on Node 20), prints
    // what it sees as one JSON line each; after the first event it closes, and the process then
    // ends by itself only if close() left no socket or timer behind.
    const user = uid('node20');
    const program = `
      const { HeraldClient } = await import(process.env.CLIENT_MODULE);
      const print = (line) => console.log(JSON.stringify(line));
      print({ globalWebSocket: typeof globalThis.WebSocket });
      const client = new HeraldClient({ url: process.env.HERALD_URL, token: process.env.HERALD_TOKEN });
      client.on('state', (state) => print({ state }));
      // A fresh client starts at the head its first resume reads: say when it has one.
      const baseline = setInterval(() => client.mark && (clearInterval(baseline), print({ baseline: client.mark.position })), 10);
      client.on('error', (error) => print({ error: error.message }));
      const timeout = setTimeout(() => { print({ timeout: true }); client.close(); }, 20_000);
      client.on('event', (event) => { print({ event }); clearTimeout(timeout); client.close(); });
      client.connect();`;
    let opened: () => void = () => {};
    const open = new Promise<void>((resolveOpen) => (opened = resolveOpen));
    const running = runCommand(process.execPath, ['--no-experimental-websocket', '--input-type=module', '--eval', program], {
      env: {
        CLIENT_MODULE: pathToFileURL(resolve('dist/client/index.js')).href,
        HERALD_URL: endpoints.websocket,
        HERALD_TOKEN: await tokenFor(user, 'old-node'),
      },
      onStdout: (chunk) => {
        if (chunk.includes('"baseline"')) opened();
      },
    });
    await Promise.race([open, running.then(({ stdout, stderr }) => { throw new Error(`exited before open: ${stdout}${stderr}`); })]);

    await sendIntent(intent('chat.message', { user_id: user }, { n: 'via ws' }));
    const result = await running;

    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(result.code, result.stderr).toBe(0);
    expect(lines[0]).toEqual({ globalWebSocket: 'undefined' });
    expect(lines).toContainEqual({ baseline: 0 });
    expect(lines.filter((line) => 'error' in line || 'timeout' in line)).toEqual([]);
    const events = lines.flatMap((line) => ('event' in line ? [line['event'] as HeraldEvent] : []));
    expect(events.map((e) => [e.position, e.payload])).toEqual([[1, { n: 'via ws' }]]);
    expect(lines.map((line) => line['state']).filter(Boolean)).toEqual(['connecting', 'open', 'closed']);
  });
});

/**
 * A real socket that hands the client its frames up to and including the first replay frame
 * (`events`), then closes as a dropped network would: later frames never reach the client.
 */
function droppedAfterFirstReplayFrame(socket: SocketLike, seen: (data: string) => void, dropped: () => void): SocketLike {
  let cut = false;
  const wrapper: SocketLike = {
    get readyState() {
      return socket.readyState;
    },
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
  };
  socket.onopen = (event) => wrapper.onopen?.(event);
  socket.onerror = (event) => wrapper.onerror?.(event);
  socket.onclose = (event) => wrapper.onclose?.(event);
  socket.onmessage = (message) => {
    if (cut) return;
    const data = String(message.data);
    wrapper.onmessage?.(message);
    if (JSON.parse(data).type !== 'events') return;
    seen(data);
    cut = true;
    dropped();
    socket.close();
  };
  return wrapper;
}
