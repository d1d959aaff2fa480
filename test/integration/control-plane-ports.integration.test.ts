import { createServer, type Server } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureKubeBinaries } from '../../lib/kube-local/build.js';
import { startControlPlane } from '../../lib/kube-local/control-plane.js';
import { httpsGet } from '../../lib/kube-local/https-get.js';
import { freePort } from '../../lib/local/dynamodb-local.js';

/**
 * A port found free can be taken before etcd or the apiserver binds it (any outgoing connection of
 * the machine may take it as its ephemeral port): a control plane then starts on fresh ports, as
 * a test or `npm run clusters` expects, instead of failing on "address already in use".
 */

async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return { port: address.port, server };
}

/** Hands out the held port as the `taken`th port asked for (1: etcd's, 3: the apiserver's), fresh ones otherwise. */
function portsWithTaken(taken: number, held: number) {
  let asked = 0;
  return { pickPort: async () => (++asked === taken ? held : freePort()), asked: () => asked };
}

describe('local control plane ports (integration: kube-apiserver + etcd)', () => {
  beforeAll(async () => {
    await ensureKubeBinaries();
  }, 900_000);

  for (const [which, taken] of [
    ["the apiserver's", 3],
    ["etcd's", 1],
  ] as const) {
    it(`starts on fresh ports when ${which} port is taken before it binds`, async () => {
      const held = await holdPort();
      const ports = portsWithTaken(taken, held.port);
      try {
        const plane = await startControlPlane('ports', { gate: 'off', pickPort: ports.pickPort });
        try {
          // Three ports for the failed start, three fresh ones for the one that answers.
          expect(ports.asked()).toBe(6);
          const ready = await httpsGet(`${plane.server}/readyz`, plane.adminToken, plane.caData);
          expect(ready.status).toBe(200);
        } finally {
          await plane.stop();
        }
      } finally {
        held.server.close();
      }
    }, 120_000);
  }

  it('gives up after three starts whose ports were all taken, saying which address', async () => {
    const held = await holdPort();
    let asked = 0;
    const pickPort = async () => (++asked % 3 === 0 ? held.port : freePort());
    try {
      await expect(startControlPlane('ports', { gate: 'off', pickPort })).rejects.toThrow(
        `127.0.0.1:${held.port}: bind: address already in use`,
      );
      expect(asked).toBe(9);
    } finally {
      held.server.close();
    }
  }, 120_000);
});
