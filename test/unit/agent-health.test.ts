import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { askedEarly, type Health, httpHealthProbe } from '../../lib/agent/health.js';
import { freePort } from '../../lib/local/dynamodb-local.js';

/** The health probe against a real local HTTP server: what counts as healthy, and what does not. */

const servers: Server[] = [];

async function serve(handler: Parameters<typeof createServer>[1]): Promise<URL> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('agent health probe', () => {
  it('is healthy on any 2xx', async () => {
    for (const status of [200, 204]) {
      const url = await serve((_req, res) => res.writeHead(status).end('ok'));
      expect(await httpHealthProbe(url)()).toEqual({ healthy: true });
    }
  });

  it('is unhealthy on another status, naming it (a redirect is not followed)', async () => {
    for (const status of [500, 503, 404, 302]) {
      const url = await serve((_req, res) => res.writeHead(status, { location: '/elsewhere' }).end());
      expect(await httpHealthProbe(url)()).toEqual({
        healthy: false,
        problem: `${url.href} answered ${status}`,
      });
    }
  });

  it('is unhealthy when nothing answers in time', async () => {
    // Takes the request and never answers, as a hung program does.
    const url = await serve(() => {});
    expect(await httpHealthProbe(url, 50)()).toEqual({
      healthy: false,
      problem: `${url.href}: no answer within 50 ms`,
    });
  });

  it('is unhealthy when nothing listens (the program is gone)', async () => {
    const url = new URL(`http://127.0.0.1:${await freePort()}/healthz`);
    const health = await httpHealthProbe(url)();
    expect(health.healthy).toBe(false);
    expect(health.healthy === false && health.problem).toContain('ECONNREFUSED');
  });

  it('asked early: a healthy first answer is used once; an unhealthy one is asked again when it is wanted', async () => {
    const answers: Health[] = [{ healthy: true }, { healthy: false, problem: 'down' }, { healthy: true }];
    let asked = 0;
    const probe = askedEarly(async () => answers[asked++] as Health);
    expect(asked).toBe(1);
    expect(await probe()).toEqual({ healthy: true });
    expect(await probe()).toEqual({ healthy: false, problem: 'down' });
    expect(asked).toBe(2);

    asked = 1;
    const starting = askedEarly(async () => answers[asked++] as Health);
    // The program was not up when the agent started; it is by the first write.
    expect(await starting()).toEqual({ healthy: true });
    expect(asked).toBe(3);
  });
});
