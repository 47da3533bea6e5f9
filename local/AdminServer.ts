import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { OfflineStack } from './OfflineStack.ts';

/**
 * Control plane of the offline stack (documented in docs/local-stack.md):
 *   GET    /health                       → 200 when running
 *   GET    /endpoints                    → the endpoints document
 *   GET    /functions                    → invocation and error counts, cold-init times
 *   POST   /schedules/fire[?rule=<id>]   → run scheduled targets now; returns their results
 *   GET    /faults/<service>             → a service's fault rules with their counters (services:
 *                                           dynamodb, sqs, ses, events, connections)
 *   POST   /faults/<service>  {match?,operation?,resource?,caller?,rate?,effect?,delayMs?,status?,errorType?,message?,times?}
 *                                         → add a fault rule (local/emulators/FaultProxy.ts)
 *   DELETE /faults/<service>             → remove every rule of that service
 *   DELETE /faults/<service>/<id>        → remove one rule
 *   GET    /chaos                        → what chaos mode injected: per service, operation, rule and function
 *   POST   /chaos  {profile, seed?}      → start a chaos profile (local/chaos/profiles.ts), counters from zero
 *   DELETE /chaos                        → stop the profile (its rules and pauses); counters stay
 *   POST   /chaos/pause-dynamodb {ms}    → freeze DynamoDB Local for ms
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
      case 'GET /chaos':
        return send(res, 200, this.stack.chaos.report());
      case 'POST /chaos': {
        const body = (await readJson(req)) as { profile?: unknown; seed?: unknown };
        try {
          if (typeof body.profile !== 'string') throw new Error('POST /chaos needs {"profile": "<name>"}');
          return send(res, 201, this.stack.chaos.start(body.profile, typeof body.seed === 'number' ? body.seed : undefined));
        } catch (error) {
          return send(res, 400, { error: (error as Error).message });
        }
      }
      case 'DELETE /chaos':
        this.stack.chaos.stop();
        return send(res, 204, undefined);
      case 'POST /chaos/pause-dynamodb': {
        const { ms } = (await readJson(req)) as { ms?: unknown };
        if (!(typeof ms === 'number' && Number.isInteger(ms) && ms > 0 && ms <= 60_000)) return send(res, 400, { error: '{"ms": 1..60000} required' });
        await this.stack.pauseDynamoDb(ms);
        return send(res, 200, { paused_ms: ms });
      }
      case 'GET /gateway/connections':
        return send(res, 200, this.stack.gatewayConnections(url.searchParams.get('state') === 'connecting' ? 'connecting' : 'open'));
      default: {
        const one = /^DELETE \/faults\/([a-z]+)\/([^/]+)$/.exec(key);
        const oneProxy = one ? this.stack.faults(one[1]!) : undefined;
        if (one && oneProxy) {
          const removed = oneProxy.remove(decodeURIComponent(one[2]!));
          return send(res, removed ? 204 : 404, removed ? undefined : { error: `no fault rule ${one[2]} on ${one[1]}` });
        }
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
