import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/**
 * A fault to inject: requests whose body contains `match` get an AWS-style error instead or, with
 * `delayMs` alone, reach the emulator that much later (a slow call, not a failed one).
 */
export interface FaultRule {
  readonly match: string;
  /** Hold each matching request this long first; without status or errorType it then passes through. */
  readonly delayMs?: number;
  /** HTTP status of the injected error. @default 500 */
  readonly status?: number;
  /** AWS error code sent in `x-amzn-ErrorType`. @default InternalFailure */
  readonly errorType?: string;
  readonly message?: string;
  /** Fail this many matching requests, then pass them through. @default every one */
  readonly times?: number;
}

export interface FaultState extends FaultRule {
  readonly id: string;
  hits: number;
  /** Epoch ms of each injected failure, so tests can measure backoff. */
  readonly hitAt: number[];
}

/**
 * An HTTP proxy in front of an emulator that can be told to fail matching requests, so tests can
 * inject outages (SES 5xx, throttling) with the real SDK and the real emulator behind it.
 */
export class FaultProxy {
  private readonly rules: FaultState[] = [];
  private server?: Server;
  public passed = 0;

  public constructor(
    private readonly target: string,
    /** Requests the emulator behind cannot answer, answered here (method and path → status and JSON body). */
    private readonly localAnswers: (method: string, path: string) => { status: number; body: unknown } | undefined = () => undefined,
  ) {}

  public add(rule: FaultRule): FaultState {
    if (typeof rule.match !== 'string' || rule.match === '') throw new Error('fault rule needs a non-empty "match" string');
    const state: FaultState = { ...rule, id: randomUUID(), hits: 0, hitAt: [] };
    this.rules.push(state);
    return state;
  }

  public clear(): void {
    this.rules.length = 0;
  }

  public list(): readonly FaultState[] {
    return this.rules;
  }

  public async listen(port: number): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${port}`;
  }

  public close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const local = this.localAnswers(req.method ?? 'GET', new URL(req.url ?? '/', 'http://local').pathname);
    if (local !== undefined) {
      res.writeHead(local.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(local.body));
      return;
    }
    const text = body.toString('utf8');
    const rule = this.rules.find((r) => text.includes(r.match) && (r.times === undefined || r.hits < r.times));
    if (rule !== undefined) {
      rule.hits += 1;
      rule.hitAt.push(Date.now());
      if (rule.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, rule.delayMs));
      if (rule.delayMs !== undefined && rule.status === undefined && rule.errorType === undefined) return this.pass(req, res, body);
      const errorType = rule.errorType ?? 'InternalFailure';
      res.writeHead(rule.status ?? 500, { 'content-type': 'application/json', 'x-amzn-errortype': errorType });
      res.end(JSON.stringify({ message: rule.message ?? `injected fault (${errorType})` }));
      return;
    }
    this.pass(req, res, body);
  }

  private pass(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    this.passed += 1;
    const upstream = request(new URL(req.url ?? '/', this.target), { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (error) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault proxy: upstream error: ${error.message}`);
    });
    upstream.end(body);
  }
}
