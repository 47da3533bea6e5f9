import WebSocket from 'ws';
import { nowMs } from './benchStack.ts';

export interface ReceivedFrame {
  readonly at: number;
  readonly frame: { type: string; [key: string]: unknown };
  readonly bytes: number;
}

/** A WebSocket client for benchmarks: timestamps every frame on arrival, nothing else. */
export class BenchClient {
  public readonly frames: ReceivedFrame[] = [];
  private listeners: ((received: ReceivedFrame) => void)[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const received = { at: nowMs(), frame: JSON.parse(data.toString()) as ReceivedFrame['frame'], bytes: data.byteLength };
      this.frames.push(received);
      for (const listener of this.listeners) listener(received);
    });
  }

  public static connect(websocketUrl: string, token: string): Promise<BenchClient> {
    const socket = new WebSocket(`${websocketUrl}?token=${encodeURIComponent(token)}`);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new BenchClient(socket)));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`connection refused: HTTP ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  public onFrame(listener: (received: ReceivedFrame) => void): void {
    this.listeners.push(listener);
  }

  public send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Resolves with the first frame (from now on) of `type`. */
  public next(type: string, timeoutMs = 30_000): Promise<ReceivedFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} frame within ${timeoutMs} ms`)), timeoutMs);
      const listener = (received: ReceivedFrame) => {
        if (received.frame.type !== type) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        resolve(received);
      };
      this.listeners.push(listener);
    });
  }

  public close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}
