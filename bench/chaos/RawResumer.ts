import WebSocket from 'ws';

/** An event as a client delivered it: position, id, when. */
export interface Delivered {
  readonly position: number;
  readonly eventId: string;
  readonly notificationId?: string;
  readonly payload?: Record<string, unknown>;
  readonly at: number;
}

interface EventFrame {
  readonly cursor: string;
  readonly position: number;
  readonly event_id: string;
  readonly notification_id?: string;
  readonly payload?: Record<string, unknown>;
}

/**
 * A client written from docs/push.md alone, on a raw socket, without the client SDK: resume from
 * the last delivered cursor after every connect, drop what it already has, resume again on a gap,
 * ping to notice a path that died, reconnect on any close. What it delivers must satisfy the same
 * guarantee as the SDK's (each event once, in position order).
 */
export class RawResumer {
  public readonly delivered: Delivered[] = [];
  /** Frames dropped as already delivered (replay overlapping live frames: allowed by the protocol). */
  public droppedAsSeen = 0;
  public connects = 0;
  private socket?: WebSocket;
  private cursor = '';
  private position = -1;
  private resumeInFlight = false;
  private missedWhileResuming = false;
  private closed = false;
  private pingTimer?: NodeJS.Timeout;
  private pongDeadline?: NodeJS.Timeout;

  public constructor(
    private readonly url: string,
    private readonly token: () => Promise<string>,
  ) {}

  /** The position this client has delivered up to (-1 before its first resume answered). */
  public get lastPosition(): number {
    return this.position;
  }

  public get started(): boolean {
    return this.cursor !== '';
  }

  public connect(): void {
    if (this.closed) return;
    void this.token().then((token) => {
      if (this.closed) return;
      const socket = new WebSocket(`${this.url}?token=${encodeURIComponent(token)}`);
      this.socket = socket;
      socket.on('open', () => {
        this.connects += 1;
        this.resume();
        this.pingTimer = setInterval(() => this.ping(socket), 2_000);
      });
      socket.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as Record<string, unknown>));
      socket.on('close', () => this.reconnectLater(socket));
      socket.on('error', () => this.reconnectLater(socket));
    }, () => this.reconnectLater(undefined));
  }

  /** Cuts the socket from the client's side (an app killed, a phone switching networks). */
  public disconnect(): void {
    this.socket?.terminate();
  }

  public close(): void {
    this.closed = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongDeadline);
    this.socket?.terminate();
  }

  private ping(socket: WebSocket): void {
    if (socket !== this.socket || socket.readyState !== WebSocket.OPEN || this.pongDeadline !== undefined) return;
    socket.send(JSON.stringify({ action: 'ping' }));
    // No pong: the path died unnoticed (a stalled connection never closes by itself).
    this.pongDeadline = setTimeout(() => socket.terminate(), 2_000);
  }

  private reconnectLater(socket: WebSocket | undefined): void {
    if (socket !== undefined && socket !== this.socket) return;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongDeadline);
    this.pongDeadline = undefined;
    this.socket = undefined;
    this.resumeInFlight = false;
    if (!this.closed) setTimeout(() => this.connect(), 200 + Math.random() * 300);
  }

  private resume(): void {
    if (this.resumeInFlight || this.socket?.readyState !== WebSocket.OPEN) return;
    this.resumeInFlight = true;
    this.missedWhileResuming = false;
    this.socket.send(JSON.stringify({ action: 'resume', cursor: this.cursor }));
  }

  private onFrame(frame: Record<string, unknown>): void {
    switch (frame['type']) {
      case 'pong':
        clearTimeout(this.pongDeadline);
        this.pongDeadline = undefined;
        return;
      case 'event':
        return this.live(frame as unknown as EventFrame);
      case 'events':
        for (const event of frame['events'] as EventFrame[]) if (!this.take(event)) return this.resumeAgain();
        return;
      case 'replay_complete': {
        this.resumeInFlight = false;
        if (this.cursor === '') {
          this.cursor = String(frame['cursor']);
          this.position = Number(frame['position']);
        }
        if (this.missedWhileResuming) this.resume();
        return;
      }
      case 'cursor_stale':
        throw new Error(`raw client got cursor_stale (${String(frame['reason'])}): history the soak depends on is gone`);
      case 'error':
        // Over the connection's resume budget (docs/limits.md): ask again once it allows.
        if (frame['code'] === 'rate_limited' && this.resumeInFlight) {
          this.resumeInFlight = false;
          setTimeout(() => this.resume(), Number(frame['retry_after_ms']));
        }
        return;
      default:
        // API Gateway's "Internal server error" (no type) answers a resume the function failed: ask again.
        if (frame['type'] === undefined && this.resumeInFlight) {
          this.resumeInFlight = false;
          setTimeout(() => this.resume(), 300);
        }
    }
  }

  private live(event: EventFrame): void {
    if (this.resumeInFlight || this.cursor === '') {
      // The replay under way may end before this event: resume once more afterwards.
      if (event.position > this.position) this.missedWhileResuming = true;
      return;
    }
    if (!this.take(event)) this.resume();
  }

  /** Delivers the next event in order; false on a gap (positions beyond the next one). */
  private take(event: EventFrame): boolean {
    if (event.position <= this.position) {
      this.droppedAsSeen += 1;
      return true;
    }
    if (event.position !== this.position + 1) return false;
    this.position = event.position;
    this.cursor = event.cursor;
    this.delivered.push({
      position: event.position,
      eventId: event.event_id,
      ...(event.notification_id !== undefined ? { notificationId: event.notification_id } : {}),
      ...(event.payload !== undefined ? { payload: event.payload } : {}),
      at: Date.now(),
    });
    return true;
  }

  private resumeAgain(): void {
    this.resumeInFlight = false;
    this.resume();
  }
}
