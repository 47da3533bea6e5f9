import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT } from './Intrinsics.ts';
import type { LocalFunction } from './FunctionHost.ts';

/**
 * An API Gateway HTTP API (v2) with Lambda proxy integrations, payload format 2.0, served from the
 * template as API Gateway would serve it. Followed from "Create AWS Lambda proxy integrations for
 * HTTP APIs" (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
 *
 * - the event: `version` 2.0, `routeKey`, `rawPath`, `rawQueryString`, header names lower-cased and
 *   repeated headers joined with commas, repeated query parameters joined with commas, `cookies`,
 *   `requestContext.http`, a body that is not text base64-encoded;
 * - the answer: an object with `statusCode` is the response (`headers`, `body`, `isBase64Encoded`,
 *   `cookies` → `set-cookie`); anything else is a 200 `application/json` of its JSON;
 * - a function error or a malformed answer → 500 `{"message":"Internal Server Error"}`; no route →
 *   404 `{"message":"Not Found"}`; a body over 10 MB → 413 (quotas: "HTTP API quotas");
 * - with a CORS configuration, API Gateway answers preflight `OPTIONS` itself and adds the CORS
 *   headers to every response whose origin is allowed ("Configuring CORS for an HTTP API").
 */

export interface HttpApiRoute {
  /** `GET /v1/preferences`, `ANY /v1/{proxy+}`, `$default`. */
  readonly routeKey: string;
  readonly fn: LocalFunction;
}

export interface HttpApiCors {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAge?: number;
}

export interface HttpApiSpec {
  readonly apiId: string;
  readonly routes: readonly HttpApiRoute[];
  readonly cors?: HttpApiCors;
}

/** HTTP API's payload limit (quotas: 10 MB). */
export const MAX_HTTP_API_BODY_BYTES = 10 * 1024 * 1024;

const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript)|[^;]*\+json)/i;

export class HttpApiGateway {
  private server?: Server;

  public constructor(
    private readonly spec: HttpApiSpec,
    private readonly log: (line: string) => void,
  ) {}

  public async listen(port: number): Promise<void> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.log(`[http-api] ${request.method} ${request.url}: ${(error as Error).message}`);
        if (!response.headersSent) send(response, 500, { 'content-type': 'application/json' }, '{"message":"Internal Server Error"}');
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
  }

  public async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const origin = request.headers.origin;
    const cors = this.spec.cors;
    const corsHeaders = cors && origin !== undefined && allows(cors.allowOrigins, origin) ? corsResponseHeaders(cors, origin) : {};
    const route = this.match(method, url.pathname);
    if (method === 'OPTIONS' && cors && route?.routeKey.startsWith('OPTIONS ') !== true) {
      // A preflight: API Gateway answers it without invoking anything.
      const requested = String(request.headers['access-control-request-method'] ?? '').toUpperCase();
      const allowed = origin !== undefined && allows(cors.allowOrigins, origin) && (requested === '' || allows(cors.allowMethods, requested));
      send(response, 204, allowed ? { ...corsHeaders, ...preflightHeaders(cors) } : {}, '');
      return;
    }
    const body = await readBody(request);
    if (body === 'too_large') {
      send(response, 413, { 'content-type': 'application/json', ...corsHeaders }, '{"message":"Request Entity Too Large"}');
      return;
    }
    if (route === undefined) {
      send(response, 404, { 'content-type': 'application/json', ...corsHeaders }, '{"message":"Not Found"}');
      return;
    }
    let result: unknown;
    try {
      result = await route.fn.invoke(this.event(request, method, url, route, body));
    } catch (error) {
      this.log(`[http-api] ${route.routeKey}: the function failed: ${(error as Error).message}`);
      send(response, 500, { 'content-type': 'application/json', ...corsHeaders }, '{"message":"Internal Server Error"}');
      return;
    }
    const answer = toResponse(result);
    if (answer === undefined) {
      this.log(`[http-api] ${route.routeKey}: malformed Lambda proxy response`);
      send(response, 500, { 'content-type': 'application/json', ...corsHeaders }, '{"message":"Internal Server Error"}');
      return;
    }
    for (const cookie of answer.cookies) response.appendHeader('set-cookie', cookie);
    send(response, answer.statusCode, { ...answer.headers, ...corsHeaders }, answer.body);
  }

  /** The most specific route: an exact path over a `{param}` path over `{proxy+}`; a method over ANY; then `$default`. */
  private match(method: string, path: string): (HttpApiRoute & { readonly pathParameters?: Record<string, string> }) | undefined {
    let best: { route: HttpApiRoute; score: number; params: Record<string, string> } | undefined;
    for (const route of this.spec.routes) {
      if (route.routeKey === '$default') continue;
      const [routeMethod, routePath] = route.routeKey.split(' ', 2) as [string, string];
      if (routeMethod !== 'ANY' && routeMethod !== method) continue;
      const params = matchPath(routePath, path);
      if (params === undefined) continue;
      const score = (routeMethod === 'ANY' ? 0 : 1) + (routePath.includes('+}') ? 0 : routePath.includes('{') ? 10 : 100);
      if (best === undefined || score > best.score) best = { route, score, params };
    }
    if (best) return { ...best.route, ...(Object.keys(best.params).length > 0 ? { pathParameters: best.params } : {}) };
    return this.spec.routes.find((r) => r.routeKey === '$default');
  }

  private event(request: IncomingMessage, method: string, url: URL, route: HttpApiRoute & { pathParameters?: Record<string, string> }, body: Buffer): Record<string, unknown> {
    const headers: Record<string, string> = {};
    let cookies: string[] | undefined;
    for (let i = 0; i < request.rawHeaders.length; i += 2) {
      const name = request.rawHeaders[i]!.toLowerCase();
      const value = request.rawHeaders[i + 1]!;
      if (name === 'cookie') {
        cookies = [...(cookies ?? []), ...value.split(';').map((c) => c.trim()).filter(Boolean)];
        continue;
      }
      headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    }
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
    const text = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
    const now = new Date();
    return {
      version: '2.0',
      routeKey: route.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      ...(cookies ? { cookies } : {}),
      headers,
      ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
      ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
      requestContext: {
        accountId: LOCAL_ACCOUNT,
        apiId: this.spec.apiId,
        domainName: headers['host'] ?? 'localhost',
        domainPrefix: this.spec.apiId,
        http: { method, path: url.pathname, protocol: `HTTP/${request.httpVersion}`, sourceIp: request.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
        requestId: randomUUID(),
        routeKey: route.routeKey,
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      },
      ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
      isBase64Encoded: !text,
    };
  }
}

/** `{name}` matches one segment, `{name+}` the rest of the path. */
function matchPath(routePath: string, path: string): Record<string, string> | undefined {
  const routeParts = routePath.split('/').filter(Boolean);
  const parts = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < routeParts.length; i += 1) {
    const part = routeParts[i]!;
    const greedy = part.match(/^\{(.+)\+\}$/);
    if (greedy) {
      if (i >= parts.length) return undefined;
      params[greedy[1]!] = parts.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    if (i >= parts.length) return undefined;
    const param = part.match(/^\{(.+)\}$/);
    if (param) params[param[1]!] = decodeURIComponent(parts[i]!);
    else if (part !== parts[i]) return undefined;
  }
  return routeParts.length === parts.length ? params : undefined;
}

function toResponse(result: unknown): { statusCode: number; headers: Record<string, string>; body: Buffer | string; cookies: string[] } | undefined {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    const r = result as { statusCode: unknown; headers?: Record<string, unknown>; body?: unknown; isBase64Encoded?: boolean; cookies?: unknown };
    if (typeof r.statusCode !== 'number' || !Number.isInteger(r.statusCode) || r.statusCode < 100 || r.statusCode > 599) return undefined;
    if (r.body !== undefined && typeof r.body !== 'string') return undefined;
    const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const body = r.body === undefined ? '' : r.isBase64Encoded ? Buffer.from(r.body, 'base64') : r.body;
    return { statusCode: r.statusCode, headers, body, cookies: Array.isArray(r.cookies) ? r.cookies.map(String) : [] };
  }
  // Format 2.0 without a statusCode: API Gateway assumes 200 and a JSON body.
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(result ?? null), cookies: [] };
}

const allows = (allowed: readonly string[], value: string) => allowed.includes('*') || allowed.some((a) => a.toLowerCase() === value.toLowerCase());

function corsResponseHeaders(cors: HttpApiCors, origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': cors.allowOrigins.includes('*') ? '*' : origin,
    ...(cors.exposeHeaders && cors.exposeHeaders.length > 0 ? { 'access-control-expose-headers': cors.exposeHeaders.join(',') } : {}),
    ...(cors.allowOrigins.includes('*') ? {} : { vary: 'Origin' }),
  };
}

function preflightHeaders(cors: HttpApiCors): Record<string, string> {
  return {
    'access-control-allow-methods': cors.allowMethods.join(','),
    'access-control-allow-headers': cors.allowHeaders.join(','),
    ...(cors.maxAge !== undefined ? { 'access-control-max-age': String(cors.maxAge) } : {}),
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_HTTP_API_BODY_BYTES) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string): void {
  response.writeHead(status, { ...headers, 'apigw-requestid': randomUUID() });
  response.end(body);
}
