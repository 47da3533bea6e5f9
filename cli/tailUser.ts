import WebSocket from 'ws';
import { HeraldClient } from '../client/HeraldClient.ts';
import { memoryCursorStore } from '../client/cursorStores.ts';
import { HeraldServerError, type ConnectionState, type SocketLike, type StreamMark } from '../client/types.ts';
import { eventLine, frameLine, skippedLine } from './showFrame.ts';

export interface TailOptions {
  /** Who the tail connects as, for its notes. */
  readonly user: string;
  readonly url: string;
  /** Called before every connect: a connection outlives its token, a reconnect needs a fresh one. */
  readonly token: () => Promise<string>;
  /** Replay what came after this mark first; live tail only when absent. */
  readonly from?: StreamMark;
  /** Stop after this many events (Infinity: until stopped). */
  readonly count: number;
  /** Stop after this long (0: never). */
  readonly timeoutMs: number;
  /** Every frame exactly as received, instead of lines for people. */
  readonly json: boolean;
  /** Standard output: events and frames. */
  readonly print: (line: string) => void;
  /** Standard error: connection notes and client errors. */
  readonly note: (line: string) => void;
  readonly signal?: AbortSignal;
  /** @default the client SDK's (5 minutes) */
  readonly pingIntervalMs?: number;
}

/** The first connection failed: refused by the authorizer (HTTP status) or the gateway unreachable. */
export class TailConnectError extends Error {
  public constructor(message: string, public readonly refused: boolean) {
    super(message);
    this.name = 'TailConnectError';
  }
}

/**
 * Tails a user's stream through the client SDK, so it survives what ends connections on API
 * Gateway (10 minutes idle, 2 hours per connection, a dropped network): it pings, rolls over,
 * reconnects with a fresh token and resumes, printing every event once and in order. Resolves
 * when stopped (count, timeout, signal, or the session invalidated); rejects only when the first
 * connection fails, since a target that was never reached is not worth retrying.
 */
export function tailUser(options: TailOptions): Promise<void> {
  const { print, note } = options;
  return new Promise((resolve, reject) => {
    let opened = false;
    let finished = false;
    let delivered = 0;
    let state: ConnectionState = 'idle';
    /** The last position shown (or the baseline): a jump past it is other device sessions' events. */
    let shown = options.from?.position;
    const replayed = new Set<string>();

    const client = new HeraldClient({
      url: options.url,
      token: options.token,
      cursorStore: memoryCursorStore(options.from),
      ...(options.pingIntervalMs === undefined ? {} : { pingIntervalMs: options.pingIntervalMs }),
      socketFactory: (url) => {
        const socket = new WebSocket(url);
        socket.on('open', () => (opened = true));
        socket.on('unexpected-response', (_request, response) => {
          const refusal = `connection refused: HTTP ${response.statusCode}`;
          if (!opened) finish(new TailConnectError(refusal, true));
          else note(`herald: ${refusal}; trying again`);
          socket.terminate();
        });
        socket.on('error', (error) => {
          if (!opened) finish(new TailConnectError(`connection failed: ${error.message}`, false));
        });
        // Registered before the client's own handler, so a replay frame is seen before its events.
        socket.on('message', (data) => showFrame(data.toString()));
        return socket as unknown as SocketLike;
      },
    });

    const showFrame = (text: string) => {
      if (options.json) return print(text);
      let frame: { type?: unknown; events?: unknown; position?: unknown };
      try {
        frame = JSON.parse(text) as typeof frame;
      } catch {
        frame = {};
      }
      if (frame?.type === 'events' && Array.isArray(frame.events)) {
        for (const event of frame.events as { event_id?: unknown }[]) replayed.add(String(event.event_id));
      }
      if (frame?.type === 'replay_complete') {
        // The replay's events were delivered as its frames came; what is left was a duplicate.
        replayed.clear();
        if (shown === undefined && typeof frame.position === 'number') shown = frame.position;
      }
      const line = frameLine(text);
      if (line !== undefined) print(line);
    };

    client.on('event', (event) => {
      if (!options.json) {
        if (shown !== undefined && event.position > shown + 1) print(skippedLine(shown + 1, event.position - 1));
        print(eventLine(event, replayed.delete(event.event_id)));
      }
      shown = event.position;
      delivered += 1;
      if (delivered >= options.count) finish();
    });
    client.on('resync', ({ mark }) => (shown = mark.position));
    client.on('error', (error) => {
      // Server error frames are already on stdout, as frames.
      if (!(error instanceof HeraldServerError)) note(`herald: ${error.message}`);
    });
    client.on('state', (next) => {
      if (next === 'open' && state !== 'open') {
        note(state === 'connecting' ? `connected as ${options.user}; Ctrl-C to stop` : `reconnected; resuming after #${client.mark?.position ?? '–'}`);
      }
      if (next === 'reconnecting' && state === 'open') note('connection ended; reconnecting');
      state = next;
      // The client closes itself on session_invalidated (the frame is already shown).
      if (next === 'closed') finish();
    });

    const timer = options.timeoutMs > 0 ? setTimeout(() => finish(), options.timeoutMs) : undefined;
    const stop = () => finish();
    options.signal?.addEventListener('abort', stop, { once: true });

    function finish(error?: Error): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
      client.close();
      if (error) reject(error);
      else resolve();
    }

    client.connect();
  });
}
