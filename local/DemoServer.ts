import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { build } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { sqsSafeJson } from '../functions/adapters/sqsSafeJson.ts';
import { mintAccessToken } from '../functions/core/auth/AccessTokenVerifier.ts';
import { notificationIdFor } from '../functions/core/route/identifiers.ts';

const demoDir = fileURLToPath(new URL('../demo/', import.meta.url));

export interface DemoServerOptions {
  readonly websocketUrl: string;
  readonly intakeQueueUrl: string;
  /** The local HS256 token secret. */
  readonly tokenSecret: string;
  /** A catalog type with the push channel, used by "send test notification". */
  readonly notificationType: string;
  /** A catalog type kept in the inbox (push, no email), for the inbox panel; none: no panel. */
  readonly inboxType?: string;
  /** The app API (the inbox panel calls it from the browser). */
  readonly httpApiUrl?: string;
  readonly sqs: SQSClient;
}

/**
 * The demo page of the offline stack: the client SDK bundled for browsers by esbuild, local test
 * tokens, and a "send" endpoint that puts an intent on the real intake queue.
 */
export class DemoServer {
  private server?: Server;
  private bundle?: string;

  public constructor(private readonly options: DemoServerOptions) {}

  public async listen(port: number): Promise<string> {
    const result = await build({
      entryPoints: [`${demoDir}app.ts`],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      write: false,
      // The SDK only loads `ws` where there is no platform WebSocket; browsers always have one.
      external: ['ws'],
    });
    this.bundle = result.outputFiles[0]!.text;
    this.server = createServer((req, res) => void this.handle(req, res).catch((error: Error) => reply(res, 500, { error: error.message })));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${port}/`;
  }

  public close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(readFileSync(`${demoDir}index.html`));
      return;
    }
    if (req.method === 'GET' && path === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(this.bundle);
      return;
    }
    if (req.method === 'GET' && path === '/config') {
      const inbox = this.options.inboxType && this.options.httpApiUrl ? { httpApi: this.options.httpApiUrl } : {};
      return reply(res, 200, { websocket: this.options.websocketUrl, ...inbox });
    }
    if (req.method === 'POST' && path === '/token') {
      const body = await readJson(req);
      const token = await mintAccessToken(this.options.tokenSecret, {
        userId: String(body['user_id'] ?? ''),
        deviceSessionId: String(body['device_session_id'] ?? ''),
        ttlSeconds: 3600,
      });
      return reply(res, 200, { token });
    }
    if (req.method === 'POST' && path === '/send') {
      const body = await readJson(req);
      const key = `demo-${randomUUID()}`;
      // `inbox: true`: a type kept in the inbox, for the inbox panel.
      const type = body['inbox'] === true && this.options.inboxType ? this.options.inboxType : this.options.notificationType;
      const intent = {
        notification_type: type,
        producer: 'demo-page',
        idempotency_key: key,
        audience: { kind: 'user', user_id: String(body['user_id'] ?? '') },
        payload: { text: String(body['text'] ?? ''), sent_from: 'demo page' },
      };
      await this.options.sqs.send(new SendMessageCommand({ QueueUrl: this.options.intakeQueueUrl, MessageBody: sqsSafeJson(JSON.stringify(intent)) }));
      return reply(res, 202, { notification_id: notificationIdFor('demo-page', key) });
    }
    reply(res, 404, { error: 'not found' });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}
