import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { OfflineStack } from './OfflineStack.ts';

/**
 * Control plane of the offline stack (documented in docs/local-stack.md):
 *   GET    /health                       → 200 when running
 *   GET    /endpoints                    → the endpoints document
 *   GET    /functions                    → invocation and error counts, cold-init times
 *   POST   /schedules/fire[?rule=<id>]   → run scheduled targets now; returns their results
 *   GET    /faults/<ses|dynamodb>        → injected faults and their hit counts
 *   POST   /faults/<ses|dynamodb>  {match,status?,errorType?,message?,times?} → add a fault
 *   DELETE /faults/<ses|dynamodb>        → remove every fault of that service
 *   GET    /gateway/connections          → ids of open WebSocket connections
 *   POST   /gateway/connections/<id>/vanish → drop the socket without $disconnect
 *   POST   /gateway/connections/<id>/drop   → close it from the server side (1001), with $disconnect
 *   POST   /gateway/connections/<id>/stall  → half-open: client frames stop arriving, posts are lost, no close
 */
export class AdminServer {
  private server?: Server;

  public constructor(private readonly stack: OfflineStack) {}

  public async listen(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: Error) => send(res, 500, { error: error.message }));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
  }

  public close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const key = `${req.method} ${url.pathname}`;
    switch (key) {
      case 'GET /health':
        return send(res, 200, { ok: true });
      case 'GET /endpoints':
        return send(res, 200, this.stack.endpoints);
      case 'GET /functions':
        return send(res, 200, this.stack.functionStats());
      case 'POST /schedules/fire':
        return send(res, 200, await this.stack.fireSchedules(url.searchParams.get('rule') ?? undefined));
      case 'GET /gateway/connections':
        return send(res, 200, this.stack.gatewayConnections(url.searchParams.get('state') === 'connecting' ? 'connecting' : 'open'));
      default: {
        const fault = /^(GET|POST|DELETE) \/faults\/([a-z]+)$/.exec(key);
        const proxy = fault ? this.stack.faults(fault[2]!) : undefined;
        if (fault && proxy) {
          if (fault[1] === 'GET') return send(res, 200, proxy.list());
          if (fault[1] === 'DELETE') {
            proxy.clear();
            return send(res, 204, undefined);
          }
          try {
            return send(res, 201, proxy.add((await readJson(req)) as never));
          } catch (error) {
            return send(res, 400, { error: (error as Error).message });
          }
        }
        const end = /^POST \/gateway\/connections\/([^/]+)\/(vanish|drop|stall)$/.exec(key);
        if (end) {
          const done = this.stack.endConnection(decodeURIComponent(end[1]!), end[2] as 'vanish' | 'drop' | 'stall');
          return send(res, done ? 200 : 404, { ok: done });
        }
        return send(res, 404, { error: `no admin route ${key}` });
      }
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
}
