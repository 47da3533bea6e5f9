/**
 * The platform's word that the network went down or came back: calls `listener(online)` on each
 * change and returns a function that stops listening.
 *
 * @example
 * // React Native, where there are no `online`/`offline` events: NetInfo's subscription fits.
 * import NetInfo from '@react-native-community/netinfo';
 * const client = new HeraldClient({
 *   url, token,
 *   networkEvents: (listener) => NetInfo.addEventListener((s) => listener(s.isConnected === true)),
 * });
 */
export type NetworkEvents = (listener: (online: boolean) => void) => () => void;

interface EventScope {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
  readonly navigator?: { readonly onLine?: unknown };
}

/**
 * The `online` and `offline` events of a browser window or worker, or undefined where there are
 * none (Node has no network events to offer).
 */
export function platformNetworkEvents(scope: unknown = globalThis): NetworkEvents | undefined {
  const candidate = scope as Partial<EventScope>;
  if (typeof candidate.addEventListener !== 'function' || typeof candidate.removeEventListener !== 'function') return undefined;
  if (typeof candidate.navigator?.onLine !== 'boolean') return undefined;
  const target = candidate as EventScope;
  return (listener) => {
    const online = () => listener(true);
    const offline = () => listener(false);
    target.addEventListener('online', online);
    target.addEventListener('offline', offline);
    return () => {
      target.removeEventListener('online', online);
      target.removeEventListener('offline', offline);
    };
  };
}
