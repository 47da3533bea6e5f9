export { HeraldClient, type HeraldClientEvents, type HeraldClientOptions } from './HeraldClient.ts';
export { EventSequencer } from './EventSequencer.ts';
export { HeraldInbox, type HeraldInboxOptions, type InboxAction, type InboxCounts, type InboxEventSource, type InboxItem, type InboxView } from './HeraldInbox.ts';
export { memoryCursorStore, storageCursorStore } from './cursorStores.ts';
export { platformEvents, type PlatformEvents, type PlatformSignal } from './platformEvents.ts';
export { DEFAULT_RECONNECT, reconnectDelay, type ReconnectPolicy } from './reconnectDelay.ts';
export {
  HeraldServerError,
  type ConnectionState,
  type CursorStore,
  type HeraldEvent,
  type ResyncInfo,
  type SocketFactory,
  type SocketLike,
  type StreamMark,
  type Timers,
} from './types.ts';
