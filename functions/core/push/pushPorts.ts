import type { ConnectionRecord, StreamEvent, StreamHead } from './pushTypes.ts';

/** Per-user event streams with gapless positions. */
export interface EventBuffer {
  /**
   * Appends the event of a leased push route at the next position of its user's stream, once:
   * a route that already has a position keeps it. Returns the event as stored.
   */
  appendForRoute(input: {
    readonly notificationId: string;
    readonly routeId: string;
    readonly leaseToken: string;
    /** The position an earlier attempt of this route already got. */
    readonly existing?: { readonly epoch: string; readonly position: number };
    readonly event: Omit<StreamEvent, 'epoch' | 'position'>;
  }): Promise<StreamEvent>;
  getHead(userId: string): Promise<StreamHead | undefined>;
  /** The head, created at position 0 with a new epoch if the user has no stream yet. */
  ensureHead(userId: string, now: number): Promise<StreamHead>;
  /** Unexpired events with position > `after`, in position order, at most `limit`. */
  readAfter(userId: string, after: number, limit: number, now: number): Promise<StreamEvent[]>;
  /** The event at exactly `position`, if stored and unexpired. */
  getEvent(userId: string, position: number, now: number): Promise<StreamEvent | undefined>;
  /** Deletes the user's stream head and every buffered event; the next append starts a new epoch. Returns items deleted. */
  purge(userId: string): Promise<number>;
}

/** Live connections by user. */
export interface ConnectionRegistry {
  register(connection: ConnectionRecord): Promise<void>;
  remove(userId: string, connectionId: string): Promise<void>;
  /** Removes the entry only if the connection was registered before `connectedBefore` (epoch ms). */
  removeIfConnectedBefore(userId: string, connectionId: string, connectedBefore: number): Promise<void>;
  listForUser(userId: string): Promise<ConnectionRecord[]>;
}

/** A connection the gateway no longer knows (API Gateway answers 410 GoneException). */
export class ConnectionGoneError extends Error {
  public constructor(public readonly connectionId: string) {
    super(`connection ${connectionId} is gone`);
    this.name = 'ConnectionGoneError';
  }
}

/** The API Gateway management API. */
export interface ConnectionSender {
  /** Sends one message; throws ConnectionGoneError for a vanished connection. */
  send(connectionId: string, data: string): Promise<void>;
  /** Closes a connection; a connection already gone is not an error. */
  close(connectionId: string): Promise<void>;
}
