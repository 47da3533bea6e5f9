import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The protocol lives in three places: the server's frame types (functions/core/push/frames.ts), the
// AsyncAPI document clients read (docs/asyncapi.yaml) and the client SDK (client/HeraldClient.ts).
// Read as text: the frame and error-code unions are types, gone at run time.
const frames = readFileSync('functions/core/push/frames.ts', 'utf8');
const asyncapi = readFileSync('docs/asyncapi.yaml', 'utf8');
const sdk = readFileSync('client/HeraldClient.ts', 'utf8');
const all = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].map((m) => m[1]!).sort();

describe('the push protocol in the server, docs/asyncapi.yaml and the client SDK', () => {
  const serverFrameTypes = all(frames.slice(frames.indexOf('export type ServerFrame')), /readonly type: '(\w+)'/g);

  it('has the same server frame types in the server and the document', () => {
    expect(serverFrameTypes).toEqual(['cursor_stale', 'error', 'event', 'events', 'pong', 'replay_complete', 'session_invalidated']);
    expect(all(asyncapi, /^\s+type: \{ const: (\w+) \}/gm)).toEqual(serverFrameTypes);
  });

  it('has the same error codes in the server and the document', () => {
    const codes = /export type ErrorCode = ([^;]+);/.exec(frames)![1]!.match(/'(\w+)'/g)!.map((c) => c.slice(1, -1)).sort();
    expect(codes.length).toBeGreaterThan(0);
    expect(all(asyncapi, /code: \{ enum: \[([^\]]+)\] \}/g).flatMap((list) => list.split(', ')).sort()).toEqual(codes);
  });

  it('handles every server frame type in the client SDK', () => {
    expect(serverFrameTypes.filter((type) => !sdk.includes(`case '${type}':`))).toEqual([]);
  });
});
