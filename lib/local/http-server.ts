import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Route {
  readonly method: string;
  /** API Gateway route syntax, e.g. /clusters/{cluster}/leasecandidates */
  readonly path: string;
  readonly handler: HttpHandler;
}

/** API Gateway's own payload limit; our handlers enforce their smaller limits themselves. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

/** A local stand-in for the HTTP API: routes as serverless.yml declares them, payload format 2.0. */
export function startHttpServer(
  routes: readonly Route[],
  port: number,
): Promise<{ server: Server; url: string }> {
  const compiled = routes.map((route) => ({ ...route, pattern: routePattern(route.path) }));
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, { statusCode: 500, body: String(error) }));
  });
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const matched = compiled
      .map((route) => ({ route, match: route.pattern.exec(url.pathname) }))
      .filter((m) => m.match !== null);
    const hit = matched.find((m) => m.route.method === req.method);
    if (hit === undefined) {
      send(res, {
        statusCode: matched.length > 0 ? 405 : 404,
        body: JSON.stringify({ message: 'Not Found' }),
      });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > GATEWAY_MAX_BYTES) {
        send(res, { statusCode: 413, body: JSON.stringify({ message: 'Request Entity Too Large' }) });
        return;
      }
      chunks.push(chunk);
    }
    const event = httpApiEvent(req, url, hit.route, hit.match?.groups ?? {}, Buffer.concat(chunks));
    send(res, await hit.route.handler(event));
  }
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address !== null ? address.port : port;
      resolve({ server, url: `http://127.0.0.1:${actualPort}` });
    });
  });
}

/** Content types API Gateway passes as text; any other body arrives base64-encoded. */
const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

/** An HTTP API payload format 2.0 event, as API Gateway builds it for a Lambda integration. */
function httpApiEvent(
  req: IncomingMessage,
  url: URL,
  route: Route,
  pathParameters: Record<string, string>,
  body: Buffer,
): APIGatewayProxyEventV2 {
  const now = Date.now();
  const method = req.method ?? 'GET';
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
  );
  const binary = body.length > 0 && !TEXT_TYPES.test(headers['content-type'] ?? '');
  const query = [...url.searchParams.keys()];
  return {
    version: '2.0',
    routeKey: `${method} ${route.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(query.length > 0 && {
      queryStringParameters: Object.fromEntries(query.map((k) => [k, url.searchParams.getAll(k).join(',')])),
    }),
    ...(Object.keys(pathParameters).length > 0 && { pathParameters }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${method} ${route.path}`,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    ...(body.length > 0 && { body: body.toString(binary ? 'base64' : 'utf8') }),
    isBase64Encoded: binary,
  };
}

function routePattern(path: string): RegExp {
  const source = path.replace(/\{(\w+)\}/g, (_, name: string) => `(?<${name}>[^/]+)`);
  return new RegExp(`^${source}$`);
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
  res.end(result.body ?? '');
}

/** Stops the server now: open keep-alive connections are closed rather than waited for. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
