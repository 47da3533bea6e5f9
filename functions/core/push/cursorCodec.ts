import { HeraldError } from '../errors.ts';

/** A position in one user's event stream. The epoch changes whenever the stream is reset. */
export interface StreamCursor {
  readonly epoch: string;
  readonly position: number;
}

/** The client sent something that is not a cursor this service issued. */
export class MalformedCursorError extends HeraldError {
  public constructor(message: string) {
    super(message);
    this.name = 'MalformedCursorError';
  }
}

const PREFIX = 'c1';
const EPOCH = /^[a-z0-9]{4,32}$/;

/** Opaque to clients: base64url of `c1.<epoch>.<position>`. */
export function encodeCursor(cursor: StreamCursor): string {
  return Buffer.from(`${PREFIX}.${cursor.epoch}.${cursor.position}`, 'utf8').toString('base64url');
}

/** Decodes a cursor or throws {@link MalformedCursorError} saying what is wrong with it. */
export function decodeCursor(text: string): StreamCursor {
  if (typeof text !== 'string' || text.length === 0 || text.length > 128 || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new MalformedCursorError('cursor must be a non-empty base64url string issued by Herald');
  }
  const parts = Buffer.from(text, 'base64url').toString('utf8').split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) throw new MalformedCursorError('cursor is not a Herald cursor');
  const [, epoch, positionText] = parts as [string, string, string];
  if (!EPOCH.test(epoch)) throw new MalformedCursorError('cursor has an invalid stream epoch');
  if (!/^(0|[1-9][0-9]{0,14})$/.test(positionText)) throw new MalformedCursorError('cursor has an invalid position');
  return { epoch, position: Number(positionText) };
}
