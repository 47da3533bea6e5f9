/** One event in a user's stream (the event buffer item, minus storage keys). */
export interface StreamEvent {
  readonly user_id: string;
  readonly epoch: string;
  readonly position: number;
  readonly event_id: string;
  readonly notification_id: string;
  readonly kind: string;
  readonly payload: Record<string, unknown>;
  readonly request_id?: string;
  readonly trace_id?: string;
  readonly device_session_id?: string;
  /** Epoch ms. */
  readonly published_at: number;
  /** Epoch ms after which the event is outside the freshness window. */
  readonly expires_at_ms: number;
  /**
   * Epoch ms until which the event is kept though outside the window: it is the only record that
   * its route was published (a first push at acceptance, core/route/effectiveStatus.ts), so it
   * stays as long as its notification does.
   */
  readonly keep_until_ms?: number;
}

/** The head of a user's stream: its epoch and the last position assigned. */
export interface StreamHead {
  readonly epoch: string;
  readonly position: number;
}

/** A live WebSocket connection of a user. */
export interface ConnectionRecord {
  readonly user_id: string;
  readonly connection_id: string;
  readonly device_session_id?: string;
  readonly connected_at: number;
}

/** API Gateway's billing unit for WebSocket messages; replay frames are packed up to it. */
export const FRAME_BILLING_UNIT_BYTES = 32 * 1024;
/** API Gateway's WebSocket message limit. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Events replayed per resume at most; a longer gap is answered with cursor_stale. */
export const MAX_REPLAY_EVENTS = 10_000;
