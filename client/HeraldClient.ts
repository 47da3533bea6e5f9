import { memoryCursorStore } from './cursorStores.ts';
import { EventSequencer } from './EventSequencer.ts';
import { platformEvents, type PlatformEvents, type PlatformSignal } from './platformEvents.ts';
import { DEFAULT_RECONNECT, reconnectDelay, type ReconnectPolicy } from './reconnectDelay.ts';
import {
  HeraldServerError,
  systemTimers,
  type ConnectionState,
  type CursorStore,
  type HeraldEvent,
  type ResyncInfo,
  type SocketFactory,
  type SocketLike,
  type StreamMark,
  type Timers,
} from './types.ts';

export interface HeraldClientOptions {
  /** The WebSocket URL, e.g. `wss://abc.execute-api.eu-west-1.amazonaws.com/live`; the client adds `token` to its query. */
  readonly url: string;
  /** The connection token, or a function called before every (re)connect (tokens expire); one that fails is reported as `error` and asked again after backoff. */
  readonly token: string | (() => string | Promise<string>);
  /** Where the last delivered position is kept; a store that fails is reported, never fatal. @default in memory */
  readonly cursorStore?: CursorStore;
  /** @default 500 ms doubling to 30 s, ±20 % */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** Keep-alive interval; API Gateway drops connections idle for 10 minutes. @default 5 minutes */
  readonly pingIntervalMs?: number;
  /**
   * After a ping, how long to wait for any frame before the connection counts as dead and is
   * replaced: a path that died unnoticed (sleep, network switch) sends no close. @default 15 s
   */
  readonly pongTimeoutMs?: number;
  /** How long a connection attempt may take to open before it is given up and tried again. @default 15 s */
  readonly connectTimeoutMs?: number;
  /** Reconnect proactively after this long; API Gateway ends every connection at 2 hours. @default 1 h 58 min */
  readonly maxConnectionMs?: number;
  /**
   * Where the client hears that the network went down or came back, or that the app is visible
   * again. Back online, or visible, a client waiting out its backoff connects at once; on a
   * network change, or visible after a quiet spell, an open connection is checked with a ping (a
   * network switch or a sleep leaves the old socket half-open). `false` for none.
   * @default the browser's `online`, `offline` and `visibilitychange` events (a worker's first two); none in Node
   */
  readonly platformEvents?: PlatformEvents | false;
  /** Socket constructor. @default the platform WebSocket (browsers, Node ≥ 22), else the `ws` package */
  readonly socketFactory?: SocketFactory;
  readonly timers?: Timers;
  readonly random?: () => number;
}

export interface HeraldClientEvents {
  /** Every event exactly once, in position order. */
  event: HeraldEvent;
  /** History for the stored cursor is gone (or the server cannot read it): reload your state, then events continue. */
  resync: ResyncInfo;
  /** The session was revoked; the client stops and will not reconnect. */
  session_invalidated: { readonly reason: string };
  state: ConnectionState;
  error: Error;
}

type Listener<T> = (value: T) => void;

const OPEN = 1;
const GAP_RETRY_MS = 1_000;
/** Visible again after this long without a frame, an open connection is checked with a ping. */
const QUIET_BEFORE_VISIBLE_PROBE_MS = 30_000;

/**
 * Herald's WebSocket client: connects with a token, resumes from the last delivered cursor after
 * every connect, reconnects with capped exponential backoff and jitter, pings below the idle
 * timeout, replaces a connection that stops answering, rolls over before the 2-hour limit, and
 * delivers every event exactly once, in order.
 *
 * @example
 * const client = new HeraldClient({ url: 'wss://…/live', token: () => fetchToken() });
 * client.on('event', (e) => console.log(e.position, e.kind, e.payload));
 * client.on('resync', () => reloadInbox());
 * client.on('state', (s) => setIndicator(s));
 * client.connect();
 * // later
 * client.close();
 */
export class HeraldClient {
  private readonly listeners = new Map<keyof HeraldClientEvents, Set<Listener<never>>>();
  private readonly store: CursorStore;
  private readonly policy: ReconnectPolicy;
  private readonly timers: Timers;
  private sequencer?: EventSequencer;
  private socket?: SocketLike;
  private stateValue: ConnectionState = 'idle';
  private attempt = 0;
  /** Set by the 2-hour rollover and by the network coming back: the next connect happens at once, without backoff. */
  private reconnectNow = false;
  private stopped = false;
  private resumeInFlight = false;
  /** Resumes in a row that the server failed to answer; sets the backoff before asking again. */
  private resumeFailures = 0;
  /** Why the client lost its mark (refused or unreadable cursor): told as `resync` at the next baseline. */
  private lostMark?: string;
  private pingTimer?: unknown;
  private pongTimer?: unknown;
  private connectTimer?: unknown;
  private rolloverTimer?: unknown;
  private reconnectTimer?: unknown;
  private reconnectAt = 0;
  private gapRetryTimer?: unknown;
  private resumeRetryTimer?: unknown;
  private stopListeningToPlatform?: () => void;
  /** The platform said the network is down, and has not said it came back. */
  private networkDown = false;
  /** When the open connection last showed it is alive (opened, or any frame). */
  private lastHeardAt = 0;

  public constructor(private readonly options: HeraldClientOptions) {
    if (!isWebSocketUrl(options.url)) throw new Error(`HeraldClient: url must be a ws:// or wss:// URL, got ${JSON.stringify(options.url)}`);
    this.store = options.cursorStore ?? memoryCursorStore();
    this.policy = { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.timers = options.timers ?? systemTimers;
  }

  public get state(): ConnectionState {
    return this.stateValue;
  }

  /**
   * When the next attempt is due while the client waits out a reconnect backoff (`timers.now()`
   * time, Date.now() by default), else undefined: for a "Reconnecting in 8 s — Retry now" line.
   */
  public get nextAttemptAt(): number | undefined {
    return this.reconnectTimer === undefined ? undefined : this.reconnectAt;
  }

  /** The last delivered position, if any. */
  public get mark(): StreamMark | undefined {
    return this.sequencer?.current;
  }

  public on<K extends keyof HeraldClientEvents>(type: K, listener: Listener<HeraldClientEvents[K]>): () => void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener as Listener<never>);
    this.listeners.set(type, set);
    return () => set.delete(listener as Listener<never>);
  }

  /**
   * Starts connecting. Called again while the client waits out a reconnect backoff — behind a
   * "Retry now" button, say — it tries at once; otherwise (connecting, open, closed) it does nothing.
   */
  public connect(): void {
    if (this.stateValue !== 'idle') {
      this.cutBackoffShort();
      return;
    }
    const events = this.options.platformEvents === false ? undefined : (this.options.platformEvents ?? platformEvents());
    this.stopListeningToPlatform = events?.((signal) => this.platformSaid(signal));
    void this.open();
  }

  /** Closes for good: no reconnect, no timers left running. Idempotent. */
  public close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopListeningToPlatform?.();
    this.clearTimers();
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000, 'client closed');
    }
    this.setState('closed');
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    this.setState(this.attempt === 0 && this.sequencer === undefined ? 'connecting' : 'reconnecting');
    let socket: SocketLike;
    try {
      if (this.sequencer === undefined) {
        const initial = await this.loadMark();
        this.sequencer = new EventSequencer(
          (event) => this.emit('event', event),
          (mark) => this.saveMark(mark),
          initial,
        );
      }
      const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
      if (this.stopped) return;
      socket = (this.options.socketFactory ?? (await defaultSocketFactory()))(withToken(this.options.url, token));
    } catch (error) {
      this.emit('error', asError(error));
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.connectTimer = this.timers.setTimeout(() => this.abandon(socket, 'connect timed out'), this.options.connectTimeoutMs ?? 15_000);
    socket.onopen = () => {
      this.timers.clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      this.lastHeardAt = this.timers.now();
      this.setState('open');
      this.resume();
      this.schedulePing();
      this.rolloverTimer = this.timers.setTimeout(() => this.rollover(), this.options.maxConnectionMs ?? (2 * 60 - 2) * 60_000);
    };
    socket.onmessage = (message) => this.handle(message.data);
    socket.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
    socket.onclose = () => this.connectionLost(socket);
  }

  private handle(data: unknown): void {
    // Any frame shows the connection is alive, not only the pong.
    this.timers.clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    this.lastHeardAt = this.timers.now();
    let frame: { type?: string; [key: string]: unknown };
    try {
      frame = JSON.parse(typeof data === 'string' ? data : String(data)) as typeof frame;
    } catch {
      this.emit('error', new Error('received a frame that is not JSON'));
      return;
    }
    const sequencer = this.sequencer!;
    switch (frame.type) {
      case 'event':
        if (sequencer.accept([frame as unknown as HeraldEvent])) this.resume();
        return;
      case 'events':
        if (sequencer.accept(frame['events'] as HeraldEvent[])) this.resume();
        return;
      case 'replay_complete': {
        this.resumeAnswered();
        const lost = this.lostMark;
        this.lostMark = undefined;
        // After a lost mark the app hears `resync` at the new baseline, before the events after it.
        const gap = sequencer.replayComplete(markOf(frame), lost === undefined ? undefined : () => this.emit('resync', { reason: lost, mark: sequencer.current! }));
        // A gap that a full replay did not fill: look again shortly rather than in a tight loop.
        this.timers.clearTimeout(this.gapRetryTimer);
        if (gap) this.gapRetryTimer = this.timers.setTimeout(() => this.resume(), GAP_RETRY_MS);
        return;
      }
      case 'cursor_stale': {
        this.resumeAnswered();
        this.lostMark = undefined;
        const mark = markOf(frame);
        sequencer.reset(mark);
        this.emit('resync', { reason: String(frame['reason'] ?? 'history is gone'), mark });
        return;
      }
      case 'session_invalidated':
        this.emit('session_invalidated', { reason: String(frame['reason'] ?? '') });
        this.close();
        return;
      case 'error': {
        const code = String(frame['code']);
        const message = String(frame['message']);
        this.emit('error', new HeraldServerError(code, message));
        if (code === 'malformed_cursor') {
          // A cursor this server cannot read (corrupted storage, another Herald's format): start
          // again from the head, like a fresh client, and tell the app its state may be behind.
          this.lostMark = `the server refused the stored cursor: ${message}`;
          sequencer.forget();
          this.resumeInFlight = false;
          this.resume();
        } else if (code === 'internal_error') this.retryResume();
        else if (code === 'rate_limited') this.retryResume(Number(frame['retry_after_ms']));
        else this.resumeInFlight = false;
        return;
      }
      case 'pong':
        return;
      default:
        // API Gateway's own messages have no type: {"message":"Internal server error",…} is the
        // answer when a route's function failed, which, during a resume, means it may never come.
        this.emit('error', new HeraldServerError('gateway', String(frame['message'] ?? 'unexpected frame')));
        this.retryResume();
    }
  }

  /** The stored mark. A store that cannot be read must not keep the client offline: start from the head. */
  private async loadMark(): Promise<StreamMark | undefined> {
    try {
      return await this.store.load();
    } catch (error) {
      const reason = `could not load the stored cursor: ${messageOf(error)}`;
      this.emit('error', new Error(`HeraldClient: ${reason}`, { cause: error }));
      this.lostMark = reason;
      return undefined;
    }
  }

  /** Delivery goes on when the store fails (storage full, private mode); the app hears of it. */
  private saveMark(mark: StreamMark): void {
    const failed = (error: unknown) => this.emit('error', new Error(`HeraldClient: could not save the cursor: ${messageOf(error)}`, { cause: error }));
    try {
      Promise.resolve(this.store.save(mark)).catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /** Asks for everything after the last delivered position (once at a time per connection). */
  private resume(): void {
    if (this.resumeInFlight || this.resumeRetryTimer !== undefined || this.socket?.readyState !== OPEN) return;
    this.resumeInFlight = true;
    this.socket.send(JSON.stringify({ action: 'resume', cursor: this.sequencer?.current?.cursor ?? '' }));
  }

  private resumeAnswered(): void {
    this.resumeInFlight = false;
    this.attempt = 0;
    this.resumeFailures = 0;
    // A retry scheduled on an error that was not this resume's (e.g. a failed ping) is not needed.
    this.timers.clearTimeout(this.resumeRetryTimer);
    this.resumeRetryTimer = undefined;
  }

  /** A resume the server failed to answer: ask again on this connection, after backoff. */
  /** Asks again after a backoff, or — told when (`rate_limited`) — not before `notBeforeMs`. */
  private retryResume(notBeforeMs?: number): void {
    if (!this.resumeInFlight) return;
    this.resumeInFlight = false;
    const backoff = reconnectDelay(this.resumeFailures++, this.policy, this.options.random);
    const delay = Number.isFinite(notBeforeMs) ? Math.max(backoff, notBeforeMs!) : backoff;
    this.resumeRetryTimer = this.timers.setTimeout(() => {
      this.resumeRetryTimer = undefined;
      this.resume();
    }, delay);
  }

  private schedulePing(): void {
    this.pingTimer = this.timers.setTimeout(() => {
      const socket = this.socket;
      if (socket?.readyState === OPEN) this.probe(socket);
      this.schedulePing();
    }, this.options.pingIntervalMs ?? 5 * 60_000);
  }

  /** Pings, and gives the connection pongTimeoutMs to show it is alive (any frame counts). */
  private probe(socket: SocketLike): void {
    if (this.pongTimer === undefined) this.pongTimer = this.timers.setTimeout(() => this.abandon(socket, 'no answer to ping'), this.options.pongTimeoutMs ?? 15_000);
    socket.send('{"action":"ping"}');
  }

  /**
   * The network changed, or the app is visible again. An open connection may not have survived a
   * network change, or a sleep that held the pings back: check now rather than at the next ping
   * (when visible, only if it has been quiet a while — a tab switch costs no ping). Back online,
   * waiting out a backoff grown while the network was down (up to its cap) only delays delivery:
   * connect now, and give up an attempt begun while the network was down. Visible, a user is
   * looking: connect now, unless the network is known to be down.
   */
  private platformSaid(signal: PlatformSignal): void {
    if (this.stopped) return;
    const cameBack = signal === 'online' && this.networkDown;
    if (signal !== 'visible') this.networkDown = signal === 'offline';
    const socket = this.socket;
    if (socket?.readyState === OPEN) {
      if (signal !== 'visible' || this.timers.now() - this.lastHeardAt >= QUIET_BEFORE_VISIBLE_PROBE_MS) this.probe(socket);
    } else if (cameBack && socket !== undefined) {
      this.reconnectNow = true;
      this.abandon(socket, 'network changed');
    } else if (cameBack || (signal === 'visible' && !this.networkDown)) this.cutBackoffShort();
  }

  /** Connects now if a reconnect is waiting on its backoff timer. */
  private cutBackoffShort(): void {
    if (this.stopped || this.reconnectTimer === undefined) return;
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    void this.open();
  }

  /**
   * Gives up on a connection that cannot be trusted to ever close by itself (an attempt that does
   * not open, a ping nobody answers): closing a dead path may take minutes to be confirmed, so the
   * client does not wait for it — it lets go of the socket and reconnects, and resume fills in.
   */
  private abandon(socket: SocketLike, reason: string): void {
    if (this.socket !== socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    try {
      socket.close(4001, reason);
    } catch {
      // Closing is a courtesy to the server here; the socket is let go either way.
    }
    this.connectionLost(socket);
  }

  /** The current connection is gone (closed, or abandoned): stop its timers and reconnect. */
  private connectionLost(socket: SocketLike): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.clearTimers();
    this.resumeInFlight = false;
    this.scheduleReconnect();
  }

  /** Ends the connection before API Gateway's 2-hour limit; resume makes the switch seamless. */
  private rollover(): void {
    const socket = this.socket;
    if (!socket) return;
    this.reconnectNow = true;
    socket.close(4000, 'rollover');
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.reconnectNow ? 0 : reconnectDelay(this.attempt++, this.policy, this.options.random);
    this.reconnectNow = false;
    this.reconnectAt = this.timers.now() + delay;
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.open();
    }, delay);
    // After the timer is set, so that a state listener can already call connect() to retry now.
    this.setState('reconnecting');
  }

  private clearTimers(): void {
    this.timers.clearTimeout(this.pingTimer);
    this.timers.clearTimeout(this.pongTimer);
    this.timers.clearTimeout(this.connectTimer);
    this.timers.clearTimeout(this.rolloverTimer);
    this.timers.clearTimeout(this.gapRetryTimer);
    this.timers.clearTimeout(this.resumeRetryTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
    this.connectTimer = undefined;
    this.rolloverTimer = undefined;
    this.resumeRetryTimer = undefined;
  }

  private setState(state: ConnectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
  }

  private emit<K extends keyof HeraldClientEvents>(type: K, value: HeraldClientEvents[K]): void {
    for (const listener of this.listeners.get(type) ?? []) {
      try {
        (listener as Listener<HeraldClientEvents[K]>)(value);
      } catch (error) {
        if (type !== 'error') this.emit('error', asError(error));
      }
    }
  }
}

function markOf(frame: Record<string, unknown>): StreamMark {
  const stream = typeof frame['stream'] === 'string' && frame['stream'] !== '' ? { stream: frame['stream'] } : {};
  return { cursor: String(frame['cursor']), position: Number(frame['position'] ?? 0), ...stream };
}

/** What was thrown, as an Error: listeners and stores may throw anything. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function messageOf(error: unknown): string {
  return asError(error).message;
}

// Not URL.canParse: browsers before 2023 lack it.
function isWebSocketUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'ws:' || protocol === 'wss:';
  } catch {
    return false;
  }
}

/** The URL with `token` set in its query, keeping any other parameters it has. */
function withToken(url: string, token: string): string {
  const withQuery = new URL(url);
  withQuery.searchParams.set('token', token);
  return withQuery.href;
}

/** The platform WebSocket where there is one, else the `ws` package (older Node). */
async function defaultSocketFactory(): Promise<SocketFactory> {
  const platform = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (platform) return (url) => new platform(url);
  const { default: WebSocket } = (await import('ws')) as unknown as { default: new (url: string) => SocketLike };
  return (url) => new WebSocket(url);
}
