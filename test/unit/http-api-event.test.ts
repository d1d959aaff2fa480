import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../lib/local/http-server.js';

describe('the local HTTP API builds payload format 2.0 events as API Gateway does', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  async function capture(init: RequestInit, path = '/clusters/alpha/leasecandidates?dryRun=1') {
    const events: APIGatewayProxyEventV2[] = [];
    const { server, url } = await startHttpServer(
      [
        {
          method: 'POST',
          path: '/clusters/{cluster}/leasecandidates',
          handler: async (event) => {
            events.push(event);
            return { statusCode: 204 };
          },
        },
      ],
      0,
    );
    close = () => server.close();
    const response = await fetch(`${url}${path}`, { method: 'POST', ...init });
    return { status: response.status, event: events[0] };
  }

  it('passes a JSON body as text, with the route, path parameters, query and request context', async () => {
    const { status, event } = await capture({
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(status).toBe(204);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /clusters/{cluster}/leasecandidates',
      rawPath: '/clusters/alpha/leasecandidates',
      rawQueryString: 'dryRun=1',
      queryStringParameters: { dryRun: '1' },
      pathParameters: { cluster: 'alpha' },
      body: '{"a":1}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/clusters/alpha/leasecandidates' },
        stage: '$default',
      },
    });
    expect(event?.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('base64-encodes a body whose content type is not text', async () => {
    const { event } = await capture({
      headers: { 'content-type': 'application/octet-stream' },
      body: '{"a":1}',
    });
    expect(event?.isBase64Encoded).toBe(true);
    expect(Buffer.from(event?.body ?? '', 'base64').toString('utf8')).toBe('{"a":1}');
  });
});
