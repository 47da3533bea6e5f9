/** An event as the application receives it (docs/asyncapi.yaml `EventBody`). */
export interface HeraldEvent {
  readonly cursor: string;
  /** Opaque stream id; a different one means the server's stream was reset. */
  readonly stream?: string;
  readonly position: number;
  readonly event_id: string;
  readonly notification_id?: string;
  readonly kind?: string;
  readonly payload?: Record<string, unknown>;
  readonly request_id?: string;
  readonly trace_id?: string;
  readonly device_session_id?: string;
  readonly published_at?: string;
  /** Targeted at another device session: carries a position only; never delivered to the app. */
  readonly redacted?: true;
}

/** Where the client is in its stream: what it has delivered last. */
export interface StreamMark {
  readonly cursor: string;
  readonly position: number;
  readonly stream?: string;
}

/** Remembers the last delivered position across reconnects (and, if persistent, reloads). */
export interface CursorStore {
  load(): StreamMark | undefined | Promise<StreamMark | undefined>;
  save(mark: StreamMark): void | Promise<void>;
  clear(): void | Promise<void>;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ResyncInfo {
  /** Why history is gone; the app must reload its state from its source of truth. */
  readonly reason: string;
  /** Where the client continues from. */
  readonly mark: StreamMark;
}

/** An `error` frame from the server. */
export class HeraldServerError extends Error {
  public constructor(public readonly code: string, message: string) {
    super(message);
    this.name = 'HeraldServerError';
  }
}

/** The subset of the WebSocket API the client uses (browser WebSocket, Node's, or `ws`). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

/** Timers, injectable so tests control time. */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
