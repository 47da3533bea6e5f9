import type { CursorStore, StreamMark } from './types.ts';

/** Keeps the mark in memory: survives reconnects, not reloads. The default. */
export function memoryCursorStore(initial?: StreamMark): CursorStore {
  let mark = initial;
  return {
    load: () => mark,
    save: (next) => {
      mark = next;
    },
    clear: () => {
      mark = undefined;
    },
  };
}

/** Keeps the mark in `localStorage` (or any Storage) under `key`: survives page reloads. */
export function storageCursorStore(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>, key = 'herald.cursor'): CursorStore {
  return {
    load: () => {
      try {
        const value = JSON.parse(storage.getItem(key) ?? 'null') as StreamMark | null;
        return value && typeof value.cursor === 'string' && Number.isInteger(value.position) ? value : undefined;
      } catch {
        return undefined;
      }
    },
    save: (mark) => storage.setItem(key, JSON.stringify(mark)),
    clear: () => storage.removeItem(key),
  };
}
