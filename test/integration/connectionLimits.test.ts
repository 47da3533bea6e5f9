import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HeraldClient, type HeraldClientOptions } from '../../client/HeraldClient.ts';
import type { HeraldEvent, SocketLike } from '../../client/types.ts';
import { DynamoConnectionRegistry } from '../../functions/adapters/DynamoConnectionRegistry.ts';
import { mintAccessToken } from '../../functions/core/auth/AccessTokenVerifier.ts';
import { freeOfflinePorts } from '../../local/freePort.ts';
import { OfflineStack, withPush, type PushEndpoints } from '../../local/OfflineStack.ts';
import { runCommand } from '../runCommand.ts';
import { intent, uid, waitFor } from './support.ts';
import { RawClient } from './wsClient.ts';

// API Gateway ends a WebSocket connection idle for 10 minutes and every connection at 2 hours.
// DESIGN asks the SDK to make both invisible; this runs the test configuration (synthesized by the
// global setup) on an offline stack of its own whose gateway has the same two limits, shortened.
// The offline gateway counts only what the client sends as activity, the stricter reading.
const IDLE_MS = 1_500;
const LIFETIME_MS = 5_000;
/** Timer slack allowed when a connection's measured length is compared with a limit. */
const SLACK_MS = 150;

describe('API Gateway connection limits (idle timeout, connection lifetime) on the offline gateway', () => {
  let stack: OfflineStack;
  let endpoints: PushEndpoints;
  let sqs: SQSClient;
  let registry: DynamoConnectionRegistry;
  let tokenSecret: string;
  const clients: HeraldClient[] = [];
  const sockets: WebSocket[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'herald-connection-limits-'));

  beforeAll(async () => {
    stack = new OfflineStack({
      assemblyDir: 'cdk.out.test',
      ports: await freeOfflinePorts(),
      schedules: 'manual',
      logs: '.local/connection-limits-functions.log',
      gatewayLimits: { idleTimeoutMs: IDLE_MS, maxConnectionMs: LIFETIME_MS },
    });
    endpoints = withPush(await stack.start());
    const client = { region: endpoints.region, credentials: endpoints.credentials };
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...client, endpoint: endpoints.dynamodb }));
    registry = new DynamoConnectionRegistry(documents, endpoints.outputs['HeraldConnectionsTableName']!);
    sqs = new SQSClient({ ...client, endpoint: endpoints.sqs });
    tokenSecret = Object.entries(endpoints.secrets).find(([id]) => id.includes('TokenSecret'))![1];
  }, 240_000);

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    for (const socket of sockets.splice(0)) socket.terminate();
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const tokenFor = (userId: string) => mintAccessToken(tokenSecret, { userId, deviceSessionId: 'phone', ttlSeconds: 600 });

  /** A raw client, open, with its close code and the milliseconds from open to close once the gateway ends it. */
  async function rawSocket(userId: string) {
    const client = await RawClient.connect(await tokenFor(userId), endpoints.websocket);
    sockets.push(client.socket);
    const openedAt = Date.now();
    const closed = client.waitFor('the gateway to end the connection', () => client.closed, 2 * LIFETIME_MS).then(({ code }) => ({ code, afterMs: Date.now() - openedAt }));
    return { client, closed };
  }

  /** A connected SDK client with its baseline, whose sockets are watched: how each one ended, and how long it lived. */
  async function sdkClient(userId: string, options: Partial<HeraldClientOptions>) {
    const connections: { code?: number; livedMs?: number }[] = [];
    const client = new HeraldClient({
      url: endpoints.websocket,
      token: () => tokenFor(userId),
      reconnect: { baseMs: 50, maxMs: 400 },
      ...options,
      socketFactory: (url) => {
        const socket = new globalThis.WebSocket(url);
        const connection: { code?: number; livedMs?: number } = {};
        connections.push(connection);
        let openedAt = 0;
        socket.addEventListener('open', () => (openedAt = Date.now()));
        socket.addEventListener('close', (event) => {
          connection.code = event.code;
          if (openedAt > 0) connection.livedMs = Date.now() - openedAt;
        });
        return socket as unknown as SocketLike;
      },
    });
    clients.push(client);
    const received: HeraldEvent[] = [];
    client.on('event', (event) => received.push(event));
    client.connect();
    await waitFor('SDK open with a baseline', async () => client.state === 'open' && client.mark !== undefined);
    return { received, connections };
  }

  /** Waits for `count` events, then checks they came once each, in position order, with nothing after. */
  async function expectEveryEventOnceInOrder(received: HeraldEvent[], count: number): Promise<void> {
    await waitFor(`the app to receive ${count} events`, async () => received.length >= count, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.map((e) => e.position)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(new Set(received.map((e) => e.event_id)).size).toBe(count);
  }

  /** Publishes `count` chat messages to the user one at a time, `everyMs` apart, pausing `pause.ms` after message `pause.after`. */
  async function publishSlowly(userId: string, count: number, everyMs: number, pause = { after: -1, ms: 0 }): Promise<void> {
    for (let n = 0; n < count; n += 1) {
      const body = intent('chat.message', { user_id: userId }, { n });
      await sqs.send(new SendMessageCommand({ QueueUrl: endpoints.outputs['HeraldIntakeQueueUrl']!, MessageBody: JSON.stringify(body) }));
      await new Promise((r) => setTimeout(r, n === pause.after ? pause.ms : everyMs));
    }
  }

  it('closes a connection that sends nothing for the idle timeout with 1001, and its $disconnect removes it from the registry', async () => {
    // Prepare
    const user = uid('idle');
    const { closed } = await rawSocket(user);
    await waitFor('the connection registered', async () => (await registry.listForUser(user)).length === 1);

    // Act: send nothing.
    const { code, afterMs } = await closed;

    // Assess
    expect(code).toBe(1001);
    expect(afterMs).toBeGreaterThanOrEqual(IDLE_MS - SLACK_MS);
    expect(afterMs).toBeLessThan(LIFETIME_MS);
    await waitFor('the registry to forget the connection', async () => (await registry.listForUser(user)).length === 0);
  });

  it('keeps a connection that pings open past the idle timeout, and ends it at the connection lifetime with 1001', async () => {
    // Prepare
    const user = uid('pinging');
    const { client, closed } = await rawSocket(user);

    // Act: ping at a third of the idle timeout until the gateway ends the connection.
    const pinger = setInterval(() => client.socket.readyState === WebSocket.OPEN && client.send({ action: 'ping' }), IDLE_MS / 3);
    const { code, afterMs } = await closed.finally(() => clearInterval(pinger));

    // Assess
    expect(code).toBe(1001);
    expect(afterMs).toBeGreaterThanOrEqual(LIFETIME_MS - SLACK_MS);
    expect(client.frames.filter((f) => f.type === 'pong').length).toBeGreaterThanOrEqual(3);
    await waitFor('the registry to forget the connection', async () => (await registry.listForUser(user)).length === 0);
  });

  it('SDK pinging below the idle timeout: never idled out across a quiet spell, and every event once and in order across the gateway ending each connection', async () => {
    // Prepare
    const user = uid('sdk-lifetime');
    // Reconnecting takes at least 240 ms (300 ± 20 %), longer than the 200 ms between messages, so
    // every reconnect while messages flow has one published in its gap, for the resume to fetch.
    const { received, connections } = await sdkClient(user, { pingIntervalMs: IDLE_MS / 3, reconnect: { baseMs: 300, maxMs: 600 } });

    // Act: five messages, quiet for twice the idle timeout, then 8 s of messages: the gateway ends
    // the connection at its lifetime at least twice, while messages flow.
    await publishSlowly(user, 45, 200, { after: 4, ms: 2 * IDLE_MS });

    // Assess
    await expectEveryEventOnceInOrder(received, 45);
    const ended = connections.filter((c) => c.code !== undefined);
    expect(ended.length).toBeGreaterThanOrEqual(2);
    for (const connection of ended) {
      expect(connection.code).toBe(1001);
      expect(connection.livedMs).toBeGreaterThanOrEqual(LIFETIME_MS - SLACK_MS);
    }
  });

  it('SDK rolling over before the lifetime: the gateway never has to end a connection, and every event arrives once and in order', async () => {
    // Prepare
    const user = uid('sdk-rollover');
    const rolloverMs = 2_000;
    const { received, connections } = await sdkClient(user, { pingIntervalMs: IDLE_MS / 3, maxConnectionMs: rolloverMs });

    // Act: about 8 s of messages, several rollovers.
    await publishSlowly(user, 40, 200);

    // Assess
    await expectEveryEventOnceInOrder(received, 40);
    const ended = connections.filter((c) => c.code !== undefined);
    expect(ended.length).toBeGreaterThanOrEqual(3);
    for (const connection of ended) {
      expect(connection.code).toBe(4000);
      expect(connection.livedMs).toBeGreaterThanOrEqual(rolloverMs - SLACK_MS);
      expect(connection.livedMs).toBeLessThan(LIFETIME_MS);
    }
  });

  it('`herald tail` outlasts the gateway ending its connections: every event once and in order, until its count', async () => {
    // Prepare: the CLI pointed at this stack; it pings every 5 minutes, so the gateway idles it
    // out every 1.5 s of silence and it has to reconnect and resume, again and again.
    const endpointsFile = join(scratch, 'endpoints.json');
    writeFileSync(endpointsFile, JSON.stringify(endpoints));
    const user = uid('tail');
    let printed = '';
    const tailing = runCommand(process.execPath, ['bin/herald-cli.mjs', 'tail', user, '--count', '8', '--timeout', '50', '--endpoints', endpointsFile], {
      onStdout: (chunk) => (printed += chunk),
    });
    await waitFor('the tail on the stream', async () => printed.includes('[replay_complete]'));

    // Act: four messages, quiet for twice the idle timeout, four more.
    await publishSlowly(user, 8, 300, { after: 3, ms: 2 * IDLE_MS });

    // Assess
    const result = await tailing;
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout.split('\n').filter((line) => line.startsWith('#'));
    expect(events.map((line) => line.replace(/ {2}\(replayed\)$/, ''))).toEqual(
      Array.from({ length: 8 }, (_, n) => `#${n + 1} chat.message {"n":${n}}`),
    );
    expect(result.stderr).toContain('connection ended; reconnecting');
    expect(result.stderr).toMatch(/reconnected; resuming after #\d+/);
  });
});
