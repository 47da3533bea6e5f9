import type { RouteEvidence } from '../route/effectiveStatus.ts';
import type { RouteAddress } from '../types.ts';
import type { ConnectionRecord, StreamEvent, StreamHead } from './pushTypes.ts';

/** Per-user event streams with gapless positions. */
export interface EventBuffer {
  /**
   * Stores the event of a leased push route at the next position of its user's stream, once: the
   * route records its position first, and a retry finds its event there. Returns the event as
   * stored.
   */
  appendForRoute(input: {
    readonly route: RouteAddress;
    readonly leaseToken: string;
    /** The position an earlier attempt of this route recorded (its event may or may not be stored). */
    readonly existing?: { readonly epoch: string; readonly position: number };
    readonly event: Omit<StreamEvent, 'epoch' | 'position'>;
  }): Promise<StreamEvent>;
  /**
   * The stream's epoch and last stored position; undefined if the user has no stream yet, or its
   * next append must begin a new epoch. An append moments later for the position right after it
   * may use this read instead of its own.
   */
  getHead(userId: string): Promise<StreamHead | undefined>;
  /** The stream's epoch and last stored position, beginning the stream (or a new epoch of it) first if need be. */
  tail(userId: string, now: number): Promise<StreamHead>;
  /** Unexpired events with position > `after`, in position order, at most `limit`. */
  readAfter(userId: string, after: number, limit: number, now: number): Promise<StreamEvent[]>;
  /**
   * Deletes the user's stream head and every buffered event; the next append starts a new epoch.
   * Events that are the only record of their route's success go to `beforeDelete` first. Returns items deleted.
   */
  purge(userId: string, beforeDelete?: (evidence: readonly RouteEvidence[]) => Promise<void>): Promise<number>;
}

/** Live connections by user. */
export interface ConnectionRegistry {
  register(connection: ConnectionRecord): Promise<void>;
  remove(userId: string, connectionId: string): Promise<void>;
  /** Removes the entry if it is there; true when this call removed it (of several racing, exactly one). */
  claim(userId: string, connectionId: string): Promise<boolean>;
  /** Removes the entry only if the connection was registered before `connectedBefore` (epoch ms). */
  removeIfConnectedBefore(userId: string, connectionId: string, connectedBefore: number): Promise<void>;
  /** `consistent`: a strongly consistent read, which sees every registration that returned (the connection cap needs it). */
  listForUser(userId: string, options?: { readonly consistent?: boolean }): Promise<ConnectionRecord[]>;
}

/** A connection the gateway no longer knows (API Gateway answers 410 GoneException). */
export class ConnectionGoneError extends Error {
  public constructor(public readonly connectionId: string) {
    super(`connection ${connectionId} is gone`);
    this.name = 'ConnectionGoneError';
  }
}

/** API Gateway refused the frame as larger than a WebSocket message may be (128 KiB): sending it again cannot help. */
export class FrameTooLargeError extends Error {
  public constructor(public readonly bytes: number) {
    super(`the frame is ${bytes} bytes, over API Gateway's 128 KiB message limit`);
    this.name = 'FrameTooLargeError';
  }
}

/** The API Gateway management API. */
export interface ConnectionSender {
  /** Sends one message; throws ConnectionGoneError for a vanished connection. */
  send(connectionId: string, data: string): Promise<void>;
  /** Closes a connection; a connection already gone is not an error. */
  close(connectionId: string): Promise<void>;
}
