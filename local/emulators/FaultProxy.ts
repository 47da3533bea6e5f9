import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/**
 * What an injected fault does to a request (docs/fault-model.md):
 * - `error`: answered with an AWS error, never applied (a throttle, a 5xx);
 * - `latency`: reaches the service `delayMs` later;
 * - `ambiguous`: applied, then answered with an error — the write succeeded, the caller is told it did not;
 * - `drop`: applied, then the connection is cut without an answer (the SDK sees a network error);
 * - `hang`: never answered (held `delayMs`, default 60 s, then cut): the SDK's timeout or the function's decides;
 * - `duplicate` (SQS ReceiveMessage): the received messages are made visible again at once, so
 *   another poller receives them too — at-least-once delivery's duplicate;
 * - `crash`: the calling execution environment dies as it makes the request (not applied);
 * - `crash_after`: the request is applied and the environment dies before it sees the answer;
 * - `timeout`: the environment is stopped as if it ran into its function timeout (Sandbox.Timedout).
 */
export type FaultEffect = 'error' | 'latency' | 'ambiguous' | 'drop' | 'hang' | 'duplicate' | 'crash' | 'crash_after' | 'timeout';

/** The services whose requests pass a fault proxy in the offline stack (admin `/faults/<service>`). */
export const FAULT_SERVICES = ['dynamodb', 'sqs', 'ses', 'events', 'connections'] as const;
export type FaultService = (typeof FAULT_SERVICES)[number];

export const FAULT_EFFECTS: readonly FaultEffect[] = ['error', 'latency', 'ambiguous', 'drop', 'hang', 'duplicate', 'crash', 'crash_after', 'timeout'];

/**
 * A fault to inject. Selectors (all optional, all must match): `match` (substrings of the request
 * body), `operation` (the API operation: `UpdateItem`, `SendMessageBatch`, `SendEmail`,
 * `PostToConnection`, `GetSecretValue`, …), `resource` (a substring of the table name, queue URL,
 * connection id or secret id) and `caller` (a part of the calling function's logical id, e.g. `Accept`,
 * `function` for any function, `event-source-mapping` / `eventbridge` for the stack's own pollers
 * and rule targets, `client` for anything else).
 */
export interface FaultRule {
  /** A substring of the request body, or several that must all be there. */
  readonly match?: string | readonly string[];
  readonly operation?: string;
  readonly resource?: string;
  readonly caller?: string;
  /** Chance that a matching request gets the fault, 0–1. @default 1 */
  readonly rate?: number;
  /** @default 'latency' with `delayMs` and no status or errorType, else 'error' */
  readonly effect?: FaultEffect;
  /** `latency`: the delay; `hang`: how long the request is held before its connection is cut; others: a delay first. */
  readonly delayMs?: number;
  /** HTTP status of the injected error (`error`, `ambiguous`). @default 500 */
  readonly status?: number;
  /** AWS error code sent in `x-amzn-ErrorType`. @default InternalFailure (InternalServerError for `ambiguous`) */
  readonly errorType?: string;
  readonly message?: string;
  /** Inject this many faults, then let matching requests pass. @default no limit */
  readonly times?: number;
}

export interface FaultState extends FaultRule {
  readonly id: string;
  /** Requests the selectors matched (whether or not the fault was injected). */
  seen: number;
  /** Faults injected. */
  hits: number;
  /** Epoch ms of each injected fault (the last 1,000), so tests can measure backoff. */
  readonly hitAt: number[];
}

/** What the proxy tells about a request, to match rules against. */
export interface RequestFacts {
  readonly operation: string;
  readonly resource: string;
  readonly caller: string;
}

/** How the proxy reaches the execution environment that made a request (for `crash`, `crash_after`, `timeout`). */
export interface CallerControl {
  /** Ends the environment named by the request's SDK app id; false when no such environment is running one. */
  stopEnvironment(caller: string, how: 'crash' | 'timeout'): boolean;
}

/** Counts per operation: requests seen and faults injected. */
export interface OperationCounts {
  requests: number;
  faults: number;
}

/**
 * An HTTP proxy in front of an emulator that injects faults into matching requests, so tests and
 * chaos runs use the real SDK and the real emulator behind it. Rules are tried in order; the first
 * whose selectors match and whose chance comes up applies.
 */
export class FaultProxy {
  private readonly rules: FaultState[] = [];
  private server?: Server;
  private readonly counts = new Map<string, OperationCounts>();
  private readonly requestsByCaller = new Map<string, number>();
  private random: () => number = Math.random;
  public passed = 0;
  /**
   * Told of every request of `operation` the service applied and answered with 2xx, whether or not
   * the caller saw the answer (an `ambiguous` or `drop` fault): what the service itself would act on
   * (SES publishing a sent message's events).
   */
  public observer?: { readonly operation: string; applied(request: string, response: string): void };

  public constructor(
    private readonly target: string,
    /** Requests the emulator behind cannot answer, answered here (method and path → status and JSON body). */
    private readonly localAnswers: (method: string, path: string) => { status: number; body: unknown } | undefined = () => undefined,
    private readonly callers?: CallerControl,
  ) {}

  /** Rolls the rules' chances from this generator (a seeded one makes a chaos run repeatable). */
  public useRandom(random: () => number): void {
    this.random = random;
  }

  public add(rule: FaultRule): FaultState {
    const problem = ruleProblem(rule);
    if (problem !== undefined) throw new Error(problem);
    const state: FaultState = { ...rule, id: randomUUID(), seen: 0, hits: 0, hitAt: [] };
    this.rules.push(state);
    return state;
  }

  public remove(id: string): boolean {
    const index = this.rules.findIndex((r) => r.id === id);
    if (index < 0) return false;
    this.rules.splice(index, 1);
    return true;
  }

  public clear(): void {
    this.rules.length = 0;
  }

  public list(): readonly FaultState[] {
    return this.rules;
  }

  /** Requests seen and faults injected per operation since the last reset. */
  public operationCounts(): Record<string, OperationCounts> {
    return Object.fromEntries([...this.counts].map(([op, c]) => [op, { ...c }]));
  }

  /** Requests per caller (a function's environment, `event-source-mapping`, `eventbridge`, `client`) since the last reset. */
  public callerCounts(): Record<string, number> {
    return Object.fromEntries(this.requestsByCaller);
  }

  public resetCounts(): void {
    this.counts.clear();
    this.requestsByCaller.clear();
    for (const rule of this.rules) {
      rule.seen = 0;
      rule.hits = 0;
      rule.hitAt.length = 0;
    }
  }

  public async listen(port: number): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    // Held requests (`hang`) must not keep close() waiting.
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${port}`;
  }

  public close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const local = this.localAnswers(req.method ?? 'GET', path);
    if (local !== undefined) {
      res.writeHead(local.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(local.body));
      return;
    }
    const text = body.toString('utf8');
    const facts = requestFacts(req, path, text);
    const counts = this.counts.get(facts.operation) ?? { requests: 0, faults: 0 };
    this.counts.set(facts.operation, counts);
    counts.requests += 1;
    this.requestsByCaller.set(facts.caller, (this.requestsByCaller.get(facts.caller) ?? 0) + 1);
    const rule = this.pick(facts, text);
    if (rule === undefined) return void this.pass(req, res, body, facts);
    const effect = effectOf(rule);
    // A crash needs an environment to end: a request from outside any function passes untouched.
    if ((effect === 'crash' || effect === 'crash_after' || effect === 'timeout') && !isFunctionCaller(facts.caller)) {
      return void this.pass(req, res, body);
    }
    rule.hits += 1;
    counts.faults += 1;
    if (rule.hitAt.length >= 1_000) rule.hitAt.shift();
    rule.hitAt.push(Date.now());
    if (rule.delayMs !== undefined && effect !== 'hang') await sleep(rule.delayMs);
    switch (effect) {
      case 'latency':
        return void this.pass(req, res, body, facts);
      case 'error':
        return answerError(res, rule, 'InternalFailure');
      case 'ambiguous': {
        this.observed(facts, text, await this.forward(req, body));
        return answerError(res, rule, 'InternalServerError');
      }
      case 'drop': {
        this.observed(facts, text, await this.forward(req, body));
        req.socket.destroy();
        return;
      }
      case 'hang': {
        await sleep(rule.delayMs ?? 60_000);
        req.socket.destroy();
        return;
      }
      case 'duplicate':
        return this.passAndDuplicate(req, res, body, facts);
      case 'crash':
        this.callers?.stopEnvironment(facts.caller, 'crash');
        req.socket.destroy();
        return;
      case 'crash_after':
        this.observed(facts, text, await this.forward(req, body));
        this.callers?.stopEnvironment(facts.caller, 'crash');
        req.socket.destroy();
        return;
      case 'timeout':
        this.callers?.stopEnvironment(facts.caller, 'timeout');
        req.socket.destroy();
        return;
    }
  }

  private pick(facts: RequestFacts, body: string): FaultState | undefined {
    for (const rule of this.rules) {
      if (rule.times !== undefined && rule.hits >= rule.times) continue;
      if (rule.match !== undefined && !(typeof rule.match === 'string' ? [rule.match] : rule.match).every((part) => body.includes(part))) continue;
      if (rule.operation !== undefined && rule.operation !== facts.operation) continue;
      if (rule.resource !== undefined && !facts.resource.includes(rule.resource)) continue;
      if (rule.caller !== undefined && !callerMatches(rule.caller, facts.caller)) continue;
      rule.seen += 1;
      if ((rule.rate ?? 1) >= 1 || this.random() < (rule.rate ?? 1)) return rule;
    }
    return undefined;
  }

  private pass(req: IncomingMessage, res: ServerResponse, body: Buffer, facts?: RequestFacts): void {
    this.passed += 1;
    const watched = facts !== undefined && this.observer?.operation === facts.operation;
    const upstream = request(new URL(req.url ?? '/', this.target), { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (watched) {
        const parts: Buffer[] = [];
        up.on('data', (part: Buffer) => parts.push(part));
        up.on('end', () => this.observed(facts, body.toString('utf8'), { status: up.statusCode ?? 502, body: Buffer.concat(parts) }));
      }
      up.pipe(res);
    });
    upstream.on('error', (error) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault proxy: upstream error: ${error.message}`);
    });
    upstream.end(body);
  }

  private observed(facts: RequestFacts, request: string, answer: { status: number; body: Buffer }): void {
    if (this.observer?.operation !== facts.operation || answer.status < 200 || answer.status >= 300) return;
    try {
      this.observer.applied(request, answer.body.toString('utf8'));
    } catch {
      // An observer's failure is its own; the request was answered.
    }
  }

  /** Sends the request to the service and reads its whole answer (which the caller may never see). */
  private forward(req: IncomingMessage, body: Buffer, headers = req.headers): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    return new Promise((resolve) => {
      const upstream = request(new URL(req.url ?? '/', this.target), { method: req.method, headers }, (up) => {
        const parts: Buffer[] = [];
        up.on('data', (part: Buffer) => parts.push(part));
        up.on('end', () => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(parts) }));
        up.on('error', () => resolve({ status: 502, headers: {}, body: Buffer.alloc(0) }));
      });
      upstream.on('error', () => resolve({ status: 502, headers: {}, body: Buffer.alloc(0) }));
      upstream.end(body);
    });
  }

  /**
   * SQS at-least-once delivery: the messages of this ReceiveMessage are made visible again at once
   * (ChangeMessageVisibility to 0 on the service), so another receive returns them too while this
   * receiver still holds them (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html).
   */
  private async passAndDuplicate(req: IncomingMessage, res: ServerResponse, body: Buffer, facts: RequestFacts): Promise<void> {
    this.passed += 1;
    const answer = await this.forward(req, body);
    const received = facts.operation === 'ReceiveMessage' ? parseJson(answer.body.toString('utf8')) : undefined;
    const messages = (received?.['Messages'] as { ReceiptHandle?: string }[] | undefined) ?? [];
    const queueUrl = (parseJson(body.toString('utf8'))?.['QueueUrl'] as string | undefined) ?? '';
    if (messages.length > 0 && queueUrl !== '') {
      const entries = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }));
      const headers = { ...req.headers, 'x-amz-target': 'AmazonSQS.ChangeMessageVisibilityBatch', 'content-type': 'application/x-amz-json-1.0' };
      const change = Buffer.from(JSON.stringify({ QueueUrl: queueUrl, Entries: entries }));
      await this.forward(req, change, { ...headers, 'content-length': String(change.length) });
    }
    const { 'transfer-encoding': _chunked, ...headers } = answer.headers;
    res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) });
    res.end(answer.body);
  }
}

/** The operation, resource and calling function of a request, from its headers, path and body. */
export function requestFacts(req: Pick<IncomingMessage, 'headers' | 'method'>, path: string, body: string): RequestFacts {
  const target = req.headers['x-amz-target'];
  const json = body.startsWith('{') ? parseJson(body) : undefined;
  const agent = String(req.headers['user-agent'] ?? '') + ' ' + String(req.headers['x-amz-user-agent'] ?? '');
  // Powertools appends its own feature tags to the app id (`-PT-…`): not part of the name.
  const caller = /(?:^|\s)app\/([^\s]+)/.exec(agent)?.[1]?.replace(/-PT-.*$/, '') ?? 'client';
  let operation = typeof target === 'string' ? target.slice(target.lastIndexOf('.') + 1) : restOperation(req.method ?? 'GET', path);
  if (operation === '' && body.includes('Action=')) operation = new URLSearchParams(body).get('Action') ?? '';
  const connection = /\/@connections\/([^/]+)$/.exec(path)?.[1];
  const resource = connection !== undefined
    ? decodeURIComponent(connection)
    : String(json?.['TableName'] ?? json?.['QueueUrl'] ?? json?.['SecretId'] ?? Object.keys((json?.['RequestItems'] as object | undefined) ?? {}).join(',') ?? '');
  return { operation: operation || 'Unknown', resource, caller };
}

/** REST operations of the services Herald calls that way (SES v2, the @connections API). */
function restOperation(method: string, path: string): string {
  if (path === '/v2/email/outbound-emails') return 'SendEmail';
  if (path === '/v2/email/account') return 'GetAccount';
  if (path.startsWith('/v2/email/identities/')) return 'GetEmailIdentity';
  if (/\/@connections\/[^/]+$/.test(path)) return method === 'POST' ? 'PostToConnection' : method === 'DELETE' ? 'DeleteConnection' : 'GetConnection';
  return '';
}

function effectOf(rule: FaultRule): FaultEffect {
  if (rule.effect !== undefined) return rule.effect;
  return rule.delayMs !== undefined && rule.status === undefined && rule.errorType === undefined ? 'latency' : 'error';
}

/** `function` names any function's environment; anything else is a part of the caller's name (`Accept`, `Deliver`). */
function callerMatches(selector: string, caller: string): boolean {
  return selector === 'function' ? isFunctionCaller(caller) : caller.includes(selector);
}

/** A function's execution environment names itself `<logical id>.<n>` (AWS_SDK_UA_APP_ID, offline only). */
function isFunctionCaller(caller: string): boolean {
  return /\.\d+$/.test(caller);
}

function ruleProblem(rule: FaultRule): string | undefined {
  if (typeof rule !== 'object' || rule === null) return 'a fault rule is a JSON object';
  const parts = Array.isArray(rule.match) ? rule.match : [rule.match];
  if (rule.match !== undefined && (parts.length === 0 || parts.some((part) => typeof part !== 'string' || part === ''))) {
    return 'fault rule "match" must be a non-empty string or a non-empty array of them';
  }
  for (const key of ['operation', 'resource', 'caller'] as const) {
    if (rule[key] !== undefined && (typeof rule[key] !== 'string' || rule[key] === '')) return `fault rule "${key}" must be a non-empty string`;
  }
  if (rule.rate !== undefined && !(typeof rule.rate === 'number' && rule.rate >= 0 && rule.rate <= 1)) return 'fault rule "rate" must be a number from 0 to 1';
  if (rule.effect !== undefined && !FAULT_EFFECTS.includes(rule.effect)) return `fault rule "effect" must be one of ${FAULT_EFFECTS.join(', ')}`;
  for (const key of ['delayMs', 'status', 'times'] as const) {
    if (rule[key] !== undefined && !(Number.isInteger(rule[key]) && rule[key]! >= 0)) return `fault rule "${key}" must be a non-negative integer`;
  }
  return undefined;
}

function answerError(res: ServerResponse, rule: FaultRule, defaultType: string): void {
  const errorType = rule.errorType ?? defaultType;
  res.writeHead(rule.status ?? 500, { 'content-type': 'application/json', 'x-amzn-errortype': errorType });
  res.end(JSON.stringify({ __type: errorType, message: rule.message ?? `injected fault (${errorType})` }));
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
