import WebSocket from 'ws';
import { mintAccessToken } from '../../functions/core/auth/AccessTokenVerifier.ts';
import { endpoints } from './support.ts';

export const tokenSecret = Object.entries(endpoints.secrets).find(([id]) => id.includes('TokenSecret'))![1];

export const tokenFor = (userId: string, deviceSessionId: string, ttlSeconds = 600) =>
  mintAccessToken(tokenSecret, { userId, deviceSessionId, ttlSeconds });

export interface Frame {
  type: string;
  [key: string]: any;
}

/** A raw WebSocket test client that records every frame it receives. */
export class RawClient {
  public readonly frames: Frame[] = [];
  public closed?: { code: number; reason: string };
  private waiters: (() => void)[] = [];

  private constructor(public readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.notify();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
  }

  /** Connects with a token (to the test stack's gateway unless told another); rejects with the HTTP status when the gateway refuses the upgrade. */
  public static async connect(token: string | undefined, gateway = endpoints.websocket): Promise<RawClient> {
    const url = token === undefined ? gateway : `${gateway}?token=${encodeURIComponent(token)}`;
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      const client = new RawClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused: ${res.statusCode}`), { status: res.statusCode })));
      socket.once('error', reject);
    });
  }

  public static async as(userId: string, deviceSessionId: string): Promise<RawClient> {
    return RawClient.connect(await tokenFor(userId, deviceSessionId));
  }

  public send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Every event this client received, live or replayed, in arrival order. */
  public events(): Frame[] {
    return this.frames.flatMap((f) => (f.type === 'event' ? [f] : f.type === 'events' ? (f['events'] as Frame[]) : []));
  }

  public async waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(0, 800)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  public waitForFrame(type: string, after = 0, timeoutMs?: number): Promise<Frame> {
    return this.waitFor(`a ${type} frame`, () => this.frames.slice(after).find((f) => f.type === type), timeoutMs);
  }

  public async close(): Promise<void> {
    if (this.closed) return;
    this.socket.close();
    await this.waitFor('close', () => this.closed);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

const open: RawClient[] = [];

/** Connects as a user and device session; the client is closed by {@link closeAllClients}. */
export async function connectAs(userId: string, deviceSessionId: string): Promise<RawClient> {
  const client = await RawClient.as(userId, deviceSessionId);
  open.push(client);
  return client;
}

/** Closes every client opened with {@link connectAs} (call from afterEach). */
export async function closeAllClients(): Promise<void> {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
}
