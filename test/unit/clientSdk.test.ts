import { describe, expect, it } from 'vitest';
import { EventSequencer } from '../../client/EventSequencer.ts';
import { HeraldClient } from '../../client/HeraldClient.ts';
import { memoryCursorStore, storageCursorStore } from '../../client/cursorStores.ts';
import { platformEvents, type PlatformEvents, type PlatformSignal } from '../../client/platformEvents.ts';
import { reconnectDelay } from '../../client/reconnectDelay.ts';
import type { HeraldEvent, SocketLike, Timers } from '../../client/types.ts';

/** A clock and timers the test advances by hand. */
class FakeTimers implements Timers {
  private time = 0;
  private seq = 0;
  public readonly pending = new Map<number, { at: number; callback: () => void; ms: number }>();
  public now = () => this.time;
  public setTimeout = (callback: () => void, ms: number) => {
    const id = ++this.seq;
    this.pending.set(id, { at: this.time + ms, callback, ms });
    return id;
  };
  public clearTimeout = (handle: unknown) => {
    this.pending.delete(handle as number);
  };
  /** Runs every timer due within `ms`, in time order. */
  public async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const next = [...this.pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.pending.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
      await flush();
    }
    this.time = end;
  }
  public delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }
}

class FakeSocket implements SocketLike {
  public readyState = 0;
  public readonly sent: string[] = [];
  /** Answers pings as the server does; off, the socket is half-open: nothing comes back. */
  public answersPings = true;
  public closedWith?: { code?: number; reason?: string };
  public onopen: SocketLike['onopen'] = null;
  public onmessage: SocketLike['onmessage'] = null;
  public onclose: SocketLike['onclose'] = null;
  public onerror: SocketLike['onerror'] = null;
  public constructor(public readonly url: string) {}
  public send(data: string): void {
    this.sent.push(data);
    if (this.answersPings && data === '{"action":"ping"}') this.serverFrame({ type: 'pong' });
  }
  public close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
    this.onclose?.({ code: code ?? 1000, reason: reason ?? '' });
  }
  public serverOpen(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  public serverFrame(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  public serverClose(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  public actions(): unknown[] {
    return this.sent.map((s) => JSON.parse(s));
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The platform's signals, given by hand; `initial` is reported when listening starts (as NetInfo does). */
function fakePlatform(initial?: PlatformSignal) {
  const listeners = new Set<(signal: PlatformSignal) => void>();
  const events: PlatformEvents = (listener) => {
    listeners.add(listener);
    if (initial !== undefined) listener(initial);
    return () => {
      listeners.delete(listener);
    };
  };
  return { events, listeners, say: (signal: PlatformSignal) => [...listeners].forEach((listener) => listener(signal)) };
}
const ev = (position: number, extra: Partial<HeraldEvent> = {}): HeraldEvent => ({ cursor: `c${position}`, position, event_id: `e${position}`, kind: 'k', payload: { position }, ...extra });

function setup(options: Partial<ConstructorParameters<typeof HeraldClient>[0]> = {}) {
  const timers = new FakeTimers();
  const sockets: FakeSocket[] = [];
  let tokens = 0;
  const client = new HeraldClient({
    url: 'ws://herald.test/live',
    token: () => `token-${++tokens}`,
    timers,
    random: () => 0.5,
    socketFactory: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    ...options,
  });
  const received: HeraldEvent[] = [];
  const states: string[] = [];
  client.on('event', (e) => received.push(e));
  client.on('state', (s) => states.push(s));
  return { client, timers, sockets, received, states, last: () => sockets[sockets.length - 1]! };
}

async function connected(env: ReturnType<typeof setup>, replayPosition = 0) {
  env.client.connect();
  await flush();
  env.last().serverOpen();
  env.last().serverFrame({ type: 'replay_complete', cursor: `c${replayPosition}`, position: replayPosition });
}

describe('reconnectDelay', () => {
  it.each([
    [0, 500],
    [1, 1_000],
    [2, 2_000],
    [5, 16_000],
    [6, 30_000],
    [50, 30_000],
  ])('attempt %i waits %i ms before jitter (capped exponential)', (attempt, expected) => {
    expect(reconnectDelay(attempt, { baseMs: 500, maxMs: 30_000, jitter: 0.2 }, () => 0.5)).toBe(expected);
  });

  it('spreads by ±20 %', () => {
    const policy = { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 };
    expect(reconnectDelay(0, policy, () => 0)).toBe(800);
    expect(reconnectDelay(0, policy, () => 1)).toBe(1_200);
    for (let i = 0; i < 200; i += 1) {
      const d = reconnectDelay(3, policy);
      expect(d).toBeGreaterThanOrEqual(6_400);
      expect(d).toBeLessThanOrEqual(9_600);
    }
  });
});

describe('EventSequencer', () => {
  function sequencer(initial?: { cursor: string; position: number }) {
    const delivered: number[] = [];
    const marks: number[] = [];
    const s = new EventSequencer((e) => delivered.push(e.position), (m) => marks.push(m.position), initial);
    return { s, delivered, marks };
  }

  it('holds events ahead of a gap until the gap is filled, then delivers in order', () => {
    const { s, delivered } = sequencer({ cursor: 'c0', position: 0 });
    expect(s.accept([ev(1), ev(3), ev(4)])).toBe(true);
    expect(delivered).toEqual([1]);
    expect(s.accept([ev(2)])).toBe(false);
    expect(delivered).toEqual([1, 2, 3, 4]);
  });

  it('drops duplicates from replay overlapping live frames', () => {
    const { s, delivered } = sequencer({ cursor: 'c0', position: 0 });
    s.accept([ev(1), ev(2)]);
    s.accept([ev(1), ev(2), ev(3)]);
    s.accept([ev(5)]);
    s.accept([ev(5)]);
    s.accept([ev(4)]);
    expect(delivered).toEqual([1, 2, 3, 4, 5]);
    expect(s.duplicatesDropped).toBe(3);
  });

  it('without a baseline holds everything until replay_complete, then starts after it', () => {
    const { s, delivered } = sequencer();
    s.accept([ev(6), ev(7)]);
    expect(delivered).toEqual([]);
    expect(s.replayComplete({ cursor: 'c6', position: 6 })).toBe(false);
    expect(delivered).toEqual([7]);
  });

  it('advances over redacted events without delivering them', () => {
    const { s, delivered, marks } = sequencer({ cursor: 'c0', position: 0 });
    s.accept([ev(1), ev(2, { redacted: true }), ev(3)]);
    expect(delivered).toEqual([1, 3]);
    expect(marks).toEqual([1, 2, 3]);
  });

  it('resets to the server head on a stale cursor and voids held events', () => {
    const { s, delivered } = sequencer({ cursor: 'c0', position: 0 });
    s.accept([ev(5)]);
    s.reset({ cursor: 'n2', position: 2 });
    expect(s.hasGap).toBe(false);
    s.accept([ev(3)]);
    expect(delivered).toEqual([3]);
  });
});

describe('HeraldClient', () => {
  it('connects with a fresh token each time and resumes from the stored cursor', async () => {
    const env = setup({ cursorStore: memoryCursorStore({ cursor: 'stored', position: 41 }) });
    env.client.connect();
    await flush();
    expect(env.last().url).toBe('ws://herald.test/live?token=token-1');
    env.last().serverOpen();
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: 'stored' }]);
    env.last().serverFrame({ type: 'events', events: [ev(42), ev(43)] });
    env.last().serverFrame({ type: 'replay_complete', cursor: 'c43', position: 43 });
    expect(env.received.map((e) => e.position)).toEqual([42, 43]);
    env.last().serverClose();
    await env.timers.advance(10_000);
    expect(env.last().url).toBe('ws://herald.test/live?token=token-2');
    env.last().serverOpen();
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: 'c43' }]);
  });

  it('adds the token to a URL that already has a query, replacing a token in it', async () => {
    const env = setup({ url: 'wss://push.example.com/live?tenant=a%20b&token=old' });
    env.client.connect();
    await flush();
    expect(env.last().url).toBe('wss://push.example.com/live?tenant=a+b&token=token-1');
  });

  it.each(['http://herald.test/live', 'ws://', 'wss://exa mple.com/live', '/live'])('refuses %j as its URL', (url) => {
    expect(() => setup({ url })).toThrow(`HeraldClient: url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
  });

  it('reconnects with capped exponential backoff and resets it after a healthy connection', async () => {
    const env = setup();
    env.client.connect();
    await flush();
    const delays: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      env.last().serverClose();
      const pending = env.timers.delays();
      delays.push(...pending);
      await env.timers.advance(pending[0]!);
    }
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    env.last().serverOpen();
    env.last().serverFrame({ type: 'replay_complete', cursor: '', position: 0 });
    env.last().serverClose();
    expect(env.timers.delays().filter((d) => d !== 5 * 60_000)).toEqual([500]);
    expect(env.states).toEqual(['connecting', 'reconnecting', 'open', 'reconnecting']);
  });

  it('reports a token function that fails, backs off, asks it again, and connects once it answers', async () => {
    // Prepare: the app's token endpoint is down twice (one throw, one rejection), then answers.
    const answers: (() => string | Promise<string>)[] = [
      () => { throw new Error('token endpoint 503'); },
      () => Promise.reject(new Error('token endpoint timed out')),
      () => 'token-ok',
    ];
    const env = setup({ token: () => answers.shift()!() });
    const errors: string[] = [];
    env.client.on('error', (e) => errors.push(e.message));

    // Act
    env.client.connect();
    await flush();
    const firstDelay = env.timers.delays();
    await env.timers.advance(firstDelay[0]!);
    const secondDelay = env.timers.delays();
    await env.timers.advance(secondDelay[0]!);

    // Assess: no socket until a token came, backing off as for a failed connection, then resumed.
    expect(errors).toEqual(['token endpoint 503', 'token endpoint timed out']);
    expect([firstDelay, secondDelay]).toEqual([[500], [1_000]]);
    expect(env.sockets.map((s) => s.url)).toEqual(['ws://herald.test/live?token=token-ok']);
    env.last().serverOpen();
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: '' }]);
    expect(env.states).toEqual(['connecting', 'reconnecting', 'open']);
  });

  it('replaces a half-open connection once a ping goes unanswered, without waiting for a close, and resumes from its mark', async () => {
    // Prepare: connected at position 5; then the path dies unnoticed: no frame, no close.
    const env = setup();
    await connected(env, 5);
    const dead = env.last();
    dead.answersPings = false;

    // Act: the next ping, then the pong timeout.
    await env.timers.advance(5 * 60_000);
    expect(dead.actions().at(-1)).toEqual({ action: 'ping' });
    await env.timers.advance(15_000 - 1);
    expect(env.client.state).toBe('open');
    await env.timers.advance(1);

    // Assess: let go of at once (close sent, not awaited), reconnected after backoff, resumed from #5.
    expect(dead.closedWith).toEqual({ code: 4001, reason: 'no answer to ping' });
    expect(env.client.state).toBe('reconnecting');
    await env.timers.advance(env.timers.delays()[0]!);
    expect(env.sockets).toHaveLength(2);
    env.last().serverOpen();
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: 'c5' }]);
    // The dead socket's late close, if it ever comes, changes nothing.
    dead.serverClose();
    expect(env.client.state).toBe('open');
  });

  it('keeps a connection whose ping is answered by any frame, not only a pong', async () => {
    const env = setup();
    await connected(env, 5);
    const socket = env.last();
    socket.answersPings = false;

    await env.timers.advance(5 * 60_000);
    socket.serverFrame({ type: 'event', ...ev(6) });
    await env.timers.advance(60_000);

    expect(socket.closedWith).toBeUndefined();
    expect(env.sockets).toHaveLength(1);
    expect(env.received.map((e) => e.position)).toEqual([6]);
  });

  it('gives up on a connection attempt that does not open in time, and tries again with backoff', async () => {
    const env = setup({ connectTimeoutMs: 10_000 });
    env.client.connect();
    await flush();
    const stuck = env.last();

    await env.timers.advance(10_000);

    expect(stuck.closedWith).toEqual({ code: 4001, reason: 'connect timed out' });
    expect(env.timers.delays()).toEqual([500]);
    await env.timers.advance(500);
    expect(env.sockets).toHaveLength(2);
    env.last().serverOpen();
    expect(env.client.state).toBe('open');
    // An attempt that opened has no connect timeout left running.
    expect(env.timers.delays().filter((d) => d === 10_000)).toEqual([]);
  });

  it('connects at once when the network comes back, instead of waiting out a backoff grown while it was down', async () => {
    // Prepare: delivered up to #7; the network goes, the connection with it, and five attempts fail.
    const platform = fakePlatform();
    const env = setup({ platformEvents: platform.events });
    await connected(env, 7);
    platform.say('offline');
    env.last().serverClose();
    for (let i = 0; i < 5; i += 1) {
      await env.timers.advance(env.timers.delays()[0]!);
      env.last().serverClose();
    }
    expect(env.timers.delays()).toEqual([16_000]);
    const attempts = env.sockets.length;

    // Act
    platform.say('online');
    await flush();

    // Assess: a new attempt now, the backoff timer gone (only the attempt's connect timeout left).
    expect(env.sockets).toHaveLength(attempts + 1);
    expect(env.timers.delays()).toEqual([15_000]);
    env.last().serverOpen();
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: 'c7' }]);
    expect(env.client.state).toBe('open');
  });

  it('checks an open connection with a ping when the network changes: keeps it if answered, replaces it if not', async () => {
    // Prepare
    const platform = fakePlatform();
    const env = setup({ platformEvents: platform.events });
    await connected(env, 3);
    const socket = env.last();

    // Act and assess: a change the connection survived.
    platform.say('offline');
    expect(socket.actions().at(-1)).toEqual({ action: 'ping' });
    await env.timers.advance(60_000);
    expect(socket.closedWith).toBeUndefined();

    // Act and assess: a switch of networks that left the socket half-open.
    socket.answersPings = false;
    platform.say('online');
    expect(socket.actions().filter((a) => JSON.stringify(a) === '{"action":"ping"}')).toHaveLength(2);
    await env.timers.advance(15_000);
    expect(socket.closedWith).toEqual({ code: 4001, reason: 'no answer to ping' });
    expect(env.client.state).toBe('reconnecting');
    await env.timers.advance(env.timers.delays()[0]!);
    env.last().serverOpen();
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: 'c3' }]);
  });

  it('gives up an attempt begun while the network was down and tries again at once when it comes back', async () => {
    const platform = fakePlatform('offline');
    const env = setup({ platformEvents: platform.events });
    env.client.connect();
    await flush();
    const stuck = env.last();

    platform.say('online');
    await env.timers.advance(0);

    expect(stuck.closedWith).toEqual({ code: 4001, reason: 'network changed' });
    expect(env.sockets).toHaveLength(2);
    env.last().serverOpen();
    expect(env.client.state).toBe('open');
  });

  it('takes a repeated online (a source reporting the state when listening starts, as NetInfo does) as no change: the attempt goes on, a backoff is waited out', async () => {
    // Act: `online` as listening starts, while the first attempt is being made.
    const platform = fakePlatform('online');
    const env = setup({ platformEvents: platform.events });
    env.client.connect();
    await flush();
    const first = env.last();
    platform.say('online');
    await flush();

    // Assess: the attempt is not given up.
    expect(first.closedWith).toBeUndefined();
    expect(env.sockets).toHaveLength(1);

    // Act and assess: during a backoff, the same.
    first.serverClose();
    platform.say('online');
    await flush();
    expect(env.sockets).toHaveLength(1);
    expect(env.timers.delays()).toEqual([500]);
  });

  it('connects at once when the app is visible again during a backoff, unless the network is known to be down', async () => {
    // Prepare
    const platform = fakePlatform();
    const env = setup({ platformEvents: platform.events });
    env.client.connect();
    await flush();
    env.last().serverClose();
    expect(env.timers.delays()).toEqual([500]);

    // Act and assess: visible, so at once.
    platform.say('visible');
    await flush();
    expect(env.sockets).toHaveLength(2);

    // Act and assess: the network is down; visible changes nothing, and online then connects.
    platform.say('offline');
    env.last().serverClose();
    platform.say('visible');
    await flush();
    expect(env.sockets).toHaveLength(2);
    expect(env.timers.delays()).toEqual([1_000]);
    platform.say('online');
    await flush();
    expect(env.sockets).toHaveLength(3);
  });

  it('checks an open connection when the app is visible after a quiet spell, and replaces it if unanswered; a quick tab switch costs no ping', async () => {
    // Prepare
    const platform = fakePlatform();
    const env = setup({ platformEvents: platform.events });
    await connected(env, 4);
    const socket = env.last();
    socket.answersPings = false;
    const pings = () => socket.actions().filter((a) => JSON.stringify(a) === '{"action":"ping"}').length;

    // Act and assess: visible 35 s after opening but 10 s after the last frame: no ping.
    await env.timers.advance(25_000);
    socket.serverFrame({ type: 'event', ...ev(5) });
    await env.timers.advance(10_000);
    platform.say('visible');
    expect(pings()).toBe(0);

    // Act and assess: visible 30 s after the last frame (a sleep): a ping, unanswered, so replaced.
    await env.timers.advance(20_000);
    platform.say('visible');
    expect(pings()).toBe(1);
    await env.timers.advance(15_000);
    expect(socket.closedWith).toEqual({ code: 4001, reason: 'no answer to ping' });
    await env.timers.advance(env.timers.delays()[0]!);
    env.last().serverOpen();
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: 'c5' }]);
  });

  it('tries at once when connect() is called again during a backoff ("Retry now"), and does nothing while connecting, open or closed', async () => {
    // Prepare: two failed attempts; the third waits 1 s.
    const env = setup();
    env.client.connect();
    await flush();
    env.last().serverClose();
    await env.timers.advance(500);
    env.last().serverClose();
    expect(env.timers.delays()).toEqual([1_000]);

    // Act and assess: at once, the backoff timer gone.
    env.client.connect();
    await flush();
    expect(env.sockets).toHaveLength(3);
    expect(env.timers.delays()).toEqual([15_000]);

    // Act and assess: while connecting, open and closed, nothing new.
    env.client.connect();
    await flush();
    env.last().serverOpen();
    env.client.connect();
    await flush();
    env.client.close();
    env.client.connect();
    await flush();
    expect(env.sockets).toHaveLength(3);
    expect(env.client.state).toBe('closed');
  });

  it('tells when the next attempt is due while it waits out a backoff, and nothing while connecting, open or closed', async () => {
    // Prepare
    const env = setup();
    expect(env.client.nextAttemptAt).toBeUndefined();
    env.client.connect();
    await flush();
    expect(env.client.nextAttemptAt).toBeUndefined();

    // Act and assess: a failed attempt, then another one 500 ms later.
    env.last().serverClose();
    expect(env.client.nextAttemptAt).toBe(500);
    await env.timers.advance(500);
    expect(env.client.nextAttemptAt).toBeUndefined();
    await env.timers.advance(200);
    env.last().serverClose();
    expect(env.client.nextAttemptAt).toBe(700 + 1_000);

    // Act and assess: open, then closed while waiting.
    await env.timers.advance(1_000);
    env.last().serverOpen();
    env.last().serverFrame({ type: 'replay_complete', cursor: 'c0', position: 0 });
    expect(env.client.nextAttemptAt).toBeUndefined();
    env.last().serverClose();
    expect(env.client.nextAttemptAt).toBe(1_700 + 500);
    env.client.close();
    expect(env.client.nextAttemptAt).toBeUndefined();
  });

  it('lets a state listener retry at once when the client starts reconnecting', async () => {
    const env = setup();
    env.client.on('state', (state) => state === 'reconnecting' && env.client.connect());
    await connected(env);

    env.last().serverClose();
    await flush();

    expect(env.sockets).toHaveLength(2);
    expect(env.client.nextAttemptAt).toBeUndefined();
  });

  it('listens to the platform only between connect and close', async () => {
    const platform = fakePlatform();
    const env = setup({ platformEvents: platform.events });
    platform.say('online');
    expect(platform.listeners.size).toBe(0);
    expect(env.sockets).toHaveLength(0);

    await connected(env);
    expect(platform.listeners.size).toBe(1);
    env.client.close();

    expect(platform.listeners.size).toBe(0);
    expect(env.client.state).toBe('closed');
  });

  it('sends a live event ahead of a gap to the app only after resuming fills the gap', async () => {
    const env = setup();
    await connected(env, 10);
    const socket = env.last();
    socket.serverFrame({ type: 'event', ...ev(11) });
    socket.serverFrame({ type: 'event', ...ev(13) });
    expect(env.received.map((e) => e.position)).toEqual([11]);
    expect(socket.actions().at(-1)).toEqual({ action: 'resume', cursor: 'c11' });
    socket.serverFrame({ type: 'events', events: [ev(12), ev(13)] });
    socket.serverFrame({ type: 'replay_complete', cursor: 'c13', position: 13 });
    expect(env.received.map((e) => e.position)).toEqual([11, 12, 13]);
  });

  it('pings below the 10-minute idle timeout, on every interval', async () => {
    const env = setup();
    await connected(env);
    await env.timers.advance(5 * 60_000 - 1);
    expect(env.last().sent.filter((s) => s.includes('ping'))).toHaveLength(0);
    await env.timers.advance(1);
    await env.timers.advance(5 * 60_000);
    expect(env.last().sent.filter((s) => s === '{"action":"ping"}')).toHaveLength(2);
  });

  it('rolls over before the 2-hour limit: closes, reconnects at once and resumes without loss or repeat', async () => {
    const env = setup();
    await connected(env, 0);
    env.last().serverFrame({ type: 'event', ...ev(1) });
    const first = env.last();
    await env.timers.advance(118 * 60_000 - 1);
    expect(first.closedWith).toBeUndefined();
    await env.timers.advance(1);
    expect(first.closedWith).toEqual({ code: 4000, reason: 'rollover' });
    // Reconnected within the same instant: no backoff for a planned rollover.
    expect(env.sockets).toHaveLength(2);
    const second = env.last();
    expect(second).not.toBe(first);
    second.serverOpen();
    expect(second.actions()).toEqual([{ action: 'resume', cursor: 'c1' }]);
    second.serverFrame({ type: 'events', events: [ev(1), ev(2)] });
    second.serverFrame({ type: 'replay_complete', cursor: 'c2', position: 2 });
    expect(env.received.map((e) => e.position)).toEqual([1, 2]);
  });

  it('fires resync once on cursor_stale and continues from the new head', async () => {
    const env = setup({ cursorStore: memoryCursorStore({ cursor: 'old', position: 9 }) });
    const resyncs: unknown[] = [];
    env.client.on('resync', (r) => resyncs.push(r));
    env.client.connect();
    await flush();
    env.last().serverOpen();
    env.last().serverFrame({ type: 'cursor_stale', cursor: 'new3', position: 3, reason: 'gone' });
    env.last().serverFrame({ type: 'event', ...ev(4) });
    expect(resyncs).toEqual([{ reason: 'gone', mark: { cursor: 'new3', position: 3 } }]);
    expect(env.received.map((e) => e.position)).toEqual([4]);
  });

  it('stops on session_invalidated: no reconnect and no timers left', async () => {
    const env = setup();
    const invalidations: unknown[] = [];
    env.client.on('session_invalidated', (i) => invalidations.push(i));
    await connected(env);
    env.last().serverFrame({ type: 'session_invalidated', reason: 'session.revoked' });
    env.last().serverClose(1000);
    await env.timers.advance(10 * 60 * 60_000);
    expect(invalidations).toEqual([{ reason: 'session.revoked' }]);
    expect(env.sockets).toHaveLength(1);
    expect(env.client.state).toBe('closed');
    expect(env.timers.pending.size).toBe(0);
  });

  it('keeps one gap retry at a time, so close() leaves none behind', async () => {
    const env = setup();
    await connected(env, 0);
    const socket = env.last();
    socket.serverFrame({ type: 'event', ...ev(3) });
    socket.serverFrame({ type: 'events', events: [ev(1)] });
    socket.serverFrame({ type: 'replay_complete', cursor: 'c1', position: 1 });
    socket.serverFrame({ type: 'event', ...ev(4) });
    socket.serverFrame({ type: 'replay_complete', cursor: 'c1', position: 1 });
    expect(socket.actions()).toEqual([{ action: 'resume', cursor: '' }, { action: 'resume', cursor: 'c0' }, { action: 'resume', cursor: 'c1' }]);
    env.client.close();
    expect(env.timers.pending.size).toBe(0);
  });

  it('closes cleanly and idempotently, leaving no timers', async () => {
    const env = setup();
    await connected(env);
    env.client.close();
    env.client.close();
    expect(env.last().closedWith).toEqual({ code: 1000, reason: 'client closed' });
    expect(env.timers.pending.size).toBe(0);
    expect(env.states.at(-1)).toBe('closed');
    expect(env.states.filter((s) => s === 'closed')).toHaveLength(1);
  });

  it('reports server error frames without dropping the connection', async () => {
    const env = setup();
    const errors: Error[] = [];
    env.client.on('error', (e) => errors.push(e));
    await connected(env);
    env.last().serverFrame({ type: 'error', code: 'malformed_cursor', message: 'bad' });
    expect(errors[0]).toMatchObject({ name: 'HeraldServerError', code: 'malformed_cursor' });
    expect(env.client.state).toBe('open');
  });

  it.each([
    ['API Gateway (the route function failed)', { message: 'Internal server error', connectionId: 'x', requestId: 'y' }, 'gateway'],
    ['Herald (internal_error)', { type: 'error', code: 'internal_error', message: 'try again' }, 'internal_error'],
  ])('asks again, after backoff on the same connection, when %s answers a resume with a failure', async (_who, failure, code) => {
    const env = setup({ cursorStore: memoryCursorStore({ cursor: 'c5', position: 5 }) });
    const errors: Error[] = [];
    env.client.on('error', (e) => errors.push(e));
    env.client.connect();
    await flush();
    const socket = env.last();
    socket.serverOpen();
    socket.serverFrame(failure);
    expect(errors).toMatchObject([{ name: 'HeraldServerError', code }]);
    // A live event ahead of the gap is held, and does not bypass the backoff.
    socket.serverFrame({ type: 'event', ...ev(7) });
    await env.timers.advance(499);
    expect(socket.actions()).toEqual([{ action: 'resume', cursor: 'c5' }]);
    await env.timers.advance(1);
    expect(socket.actions()).toEqual([{ action: 'resume', cursor: 'c5' }, { action: 'resume', cursor: 'c5' }]);
    socket.serverFrame(failure);
    await env.timers.advance(999);
    expect(socket.actions()).toHaveLength(2);
    await env.timers.advance(1);
    expect(socket.actions()).toHaveLength(3);
    socket.serverFrame({ type: 'events', events: [ev(6), ev(7)] });
    socket.serverFrame({ type: 'replay_complete', cursor: 'c7', position: 7 });
    expect(env.received.map((e) => e.position)).toEqual([6, 7]);
    expect(env.sockets).toHaveLength(1);
    expect(env.client.state).toBe('open');
    // An answered resume starts the backoff over.
    socket.serverFrame({ type: 'event', ...ev(9) });
    socket.serverFrame(failure);
    await env.timers.advance(500);
    expect(socket.actions().at(-1)).toEqual({ action: 'resume', cursor: 'c7' });
    expect(socket.actions()).toHaveLength(5);
    socket.serverFrame(failure);
    env.client.close();
    expect(env.timers.pending.size).toBe(0);
  });

  it('resumes again only after retry_after_ms when the server answers a resume rate_limited, on the same connection', async () => {
    const env = setup({ cursorStore: memoryCursorStore({ cursor: 'c5', position: 5 }) });
    const errors: Error[] = [];
    env.client.on('error', (e) => errors.push(e));
    env.client.connect();
    await flush();
    const socket = env.last();
    socket.serverOpen();

    socket.serverFrame({ type: 'error', code: 'rate_limited', message: 'over the replay budget', retry_after_ms: 7_000 });

    expect(errors).toMatchObject([{ name: 'HeraldServerError', code: 'rate_limited' }]);
    await env.timers.advance(6_999);
    expect(socket.actions()).toEqual([{ action: 'resume', cursor: 'c5' }]);
    await env.timers.advance(1);
    expect(socket.actions()).toEqual([{ action: 'resume', cursor: 'c5' }, { action: 'resume', cursor: 'c5' }]);
    socket.serverFrame({ type: 'events', events: [ev(6)] });
    socket.serverFrame({ type: 'replay_complete', cursor: 'c6', position: 6 });
    expect(env.received.map((e) => e.position)).toEqual([6]);
    expect(env.sockets).toHaveLength(1);
  });

  it('does not resume again on a gateway message that came while no resume was waiting', async () => {
    const env = setup();
    env.client.on('error', () => undefined);
    await connected(env, 3);
    env.last().serverFrame({ message: 'Internal server error', connectionId: 'x', requestId: 'y' });
    await env.timers.advance(60_000);
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: '' }]);
  });

  it('starts from the head and fires resync when the server refuses the stored cursor', async () => {
    const store = memoryCursorStore({ cursor: 'garbled', position: 900 });
    const env = setup({ cursorStore: store });
    const resyncs: unknown[] = [];
    const errors: Error[] = [];
    env.client.on('resync', (r) => resyncs.push({ ...r, delivered: env.received.length }));
    env.client.on('error', (e) => errors.push(e));
    env.client.connect();
    await flush();
    const socket = env.last();
    socket.serverOpen();
    socket.serverFrame({ type: 'error', code: 'malformed_cursor', message: 'cursor is not base64url' });
    expect(errors).toMatchObject([{ code: 'malformed_cursor' }]);
    expect(socket.actions()).toEqual([{ action: 'resume', cursor: 'garbled' }, { action: 'resume', cursor: '' }]);
    // Below the refused mark's position: delivered, not dropped as a duplicate of it.
    socket.serverFrame({ type: 'event', ...ev(3) });
    socket.serverFrame({ type: 'replay_complete', cursor: 'c2', position: 2 });
    expect(resyncs).toEqual([{ reason: 'the server refused the stored cursor: cursor is not base64url', mark: { cursor: 'c2', position: 2 }, delivered: 0 }]);
    expect(env.received.map((e) => e.position)).toEqual([3]);
    expect(await store.load()).toEqual({ cursor: 'c3', position: 3 });
    socket.serverFrame({ type: 'replay_complete', cursor: 'c3', position: 3 });
    expect(resyncs).toHaveLength(1);
  });

  it.each([
    ['throws', () => { throw new Error('quota exceeded'); }],
    ['rejects', () => Promise.reject(new Error('quota exceeded'))],
  ])('keeps delivering when the cursor store %s on save, and reports it', async (_how, save) => {
    const env = setup({ cursorStore: { load: () => undefined, save, clear: () => undefined } });
    const errors: Error[] = [];
    env.client.on('error', (e) => errors.push(e));
    await connected(env, 0);
    env.last().serverFrame({ type: 'event', ...ev(1) });
    env.last().serverFrame({ type: 'events', events: [ev(2), ev(3)] });
    await flush();
    expect(env.received.map((e) => e.position)).toEqual([1, 2, 3]);
    expect(env.client.mark).toEqual({ cursor: 'c3', position: 3 });
    expect(errors.map((e) => e.message)).toEqual(Array(4).fill('HeraldClient: could not save the cursor: quota exceeded'));
  });

  it('connects from the head and fires resync when the cursor store cannot load', async () => {
    const env = setup({ cursorStore: { load: () => Promise.reject(new Error('storage blocked')), save: () => undefined, clear: () => undefined } });
    const errors: Error[] = [];
    const resyncs: unknown[] = [];
    env.client.on('error', (e) => errors.push(e));
    env.client.on('resync', (r) => resyncs.push(r));
    env.client.connect();
    await flush();
    env.last().serverOpen();
    expect(env.last().actions()).toEqual([{ action: 'resume', cursor: '' }]);
    env.last().serverFrame({ type: 'replay_complete', cursor: 'c4', position: 4 });
    env.last().serverFrame({ type: 'event', ...ev(5) });
    expect(errors.map((e) => e.message)).toEqual(['HeraldClient: could not load the stored cursor: storage blocked']);
    expect(resyncs).toEqual([{ reason: 'could not load the stored cursor: storage blocked', mark: { cursor: 'c4', position: 4 } }]);
    expect(env.received.map((e) => e.position)).toEqual([5]);
  });

  it('persists the mark in a Storage', () => {
    const data = new Map<string, string>();
    const storage = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v), removeItem: (k: string) => void data.delete(k) };
    const store = storageCursorStore(storage);
    store.save({ cursor: 'c7', position: 7 });
    expect(storageCursorStore(storage).load()).toEqual({ cursor: 'c7', position: 7 });
    data.set('herald.cursor', 'not json');
    expect(store.load()).toBeUndefined();
  });
});

describe('platformEvents', () => {
  const browser = (onLine: boolean) => {
    const document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    return Object.assign(new EventTarget(), { navigator: { onLine }, document });
  };

  it("hears a window's online and offline events and its document becoming visible, and nothing once stopped", () => {
    const scope = browser(true);
    const seen: PlatformSignal[] = [];
    const stop = platformEvents(scope)!((signal) => seen.push(signal));

    scope.dispatchEvent(new Event('offline'));
    scope.dispatchEvent(new Event('online'));
    scope.document.visibilityState = 'hidden';
    scope.document.dispatchEvent(new Event('visibilitychange'));
    scope.document.visibilityState = 'visible';
    scope.document.dispatchEvent(new Event('visibilitychange'));
    stop();
    scope.dispatchEvent(new Event('offline'));
    scope.document.dispatchEvent(new Event('visibilitychange'));

    expect(seen).toEqual(['offline', 'online', 'visible']);
  });

  it('says offline as listening starts when the browser is offline already (its events say only what changes)', () => {
    const seen: PlatformSignal[] = [];
    platformEvents(browser(false))!((signal) => seen.push(signal));
    expect(seen).toEqual(['offline']);
  });

  it("hears a worker's network events (a worker has no document)", () => {
    const scope = Object.assign(new EventTarget(), { navigator: { onLine: true } });
    const seen: PlatformSignal[] = [];
    platformEvents(scope)!((signal) => seen.push(signal));
    scope.dispatchEvent(new Event('offline'));
    expect(seen).toEqual(['offline']);
  });

  it('offers none where there are no such events (Node, a scope without navigator.onLine or a document)', () => {
    expect(platformEvents()).toBeUndefined();
    expect(platformEvents(new EventTarget())).toBeUndefined();
  });
});

describe('stream resets', () => {
  it('does not deliver an event of another stream and asks to resume instead', () => {
    const delivered: number[] = [];
    const s = new EventSequencer((e) => delivered.push(e.position), () => undefined, { cursor: 'c5', position: 5, stream: 'old' });
    expect(s.accept([ev(6, { stream: 'old' })])).toBe(false);
    expect(s.accept([ev(1, { stream: 'new' })])).toBe(true);
    expect(delivered).toEqual([6]);
    s.reset({ cursor: 'n1', position: 1, stream: 'new' });
    s.accept([ev(2, { stream: 'new' })]);
    expect(delivered).toEqual([6, 2]);
  });
});
