/**
 * What the platform can tell the client: the network went down (`offline`) or is up (`online`),
 * or the app is in front of its user again (`visible`) — after a tab switch, a locked phone or a
 * sleeping laptop, when timers were held back and the connection may have died unnoticed.
 */
export type PlatformSignal = 'online' | 'offline' | 'visible';

/**
 * Where the client hears platform signals: calls `listener(signal)` — with the network's state
 * when listening starts, if the source knows it, then on each change — and returns a function
 * that stops listening. A repeated `online` is harmless.
 *
 * @example
 * // React Native, where there are no browser events: NetInfo and AppState fit.
 * import NetInfo from '@react-native-community/netinfo';
 * import { AppState } from 'react-native';
 * const client = new HeraldClient({
 *   url, token,
 *   platformEvents: (listener) => {
 *     const stopNetwork = NetInfo.addEventListener((s) => listener(s.isConnected === false ? 'offline' : 'online'));
 *     const app = AppState.addEventListener('change', (s) => s === 'active' && listener('visible'));
 *     return () => { stopNetwork(); app.remove(); };
 *   },
 * });
 */
export type PlatformEvents = (listener: (signal: PlatformSignal) => void) => () => void;

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

interface BrowserScope extends EventTargetLike {
  readonly navigator: { readonly onLine: boolean };
}

interface BrowserDocument extends EventTargetLike {
  readonly visibilityState: string;
}

function isEventTarget(value: unknown): value is EventTargetLike {
  const candidate = value as Partial<EventTargetLike> | undefined;
  return typeof candidate?.addEventListener === 'function' && typeof candidate.removeEventListener === 'function';
}

/**
 * A browser window's `online`/`offline` and page-visibility events (a worker's: network only),
 * or undefined where there are none (Node has no such events to offer).
 */
export function platformEvents(scope: unknown = globalThis): PlatformEvents | undefined {
  const network = isEventTarget(scope) && typeof (scope as Partial<BrowserScope>).navigator?.onLine === 'boolean' ? (scope as BrowserScope) : undefined;
  const page = (scope as { document?: unknown } | undefined)?.document;
  const visibility = isEventTarget(page) && typeof (page as Partial<BrowserDocument>).visibilityState === 'string' ? (page as BrowserDocument) : undefined;
  if (network === undefined && visibility === undefined) return undefined;
  return (listener) => {
    const online = () => listener('online');
    const offline = () => listener('offline');
    const visibilityChanged = () => {
      if (visibility?.visibilityState === 'visible') listener('visible');
    };
    network?.addEventListener('online', online);
    network?.addEventListener('offline', offline);
    visibility?.addEventListener('visibilitychange', visibilityChanged);
    // The events say only what changes; a client started offline must know it from the start.
    if (network?.navigator.onLine === false) listener('offline');
    return () => {
      network?.removeEventListener('online', online);
      network?.removeEventListener('offline', offline);
      visibility?.removeEventListener('visibilitychange', visibilityChanged);
    };
  };
}
