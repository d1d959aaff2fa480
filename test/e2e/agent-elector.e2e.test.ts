import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../../lib/harness/agent-process.js';
import { CandidateProcess, overlaps, until } from '../../lib/harness/candidates.js';
import {
  type CoordinatedClusters,
  startCoordinatedClusters,
} from '../../lib/harness/coordinated-clusters.js';
import { kube } from '../../lib/harness/kube-admin.js';
import { freePort } from '../../lib/local/dynamodb-local.js';
import { bundleAgent } from '../../scripts/bundle-agent.mjs';

/**
 * Unmodified client-go electors (Coordinated: true) that do not register themselves, as where the
 * CoordinatedLeaderElection gate is off, each with the bundled agent beside it pointed at its
 * /healthz: the coordinator elects them by strategy, and a dead one is never elected again.
 * The coordinator reads the built-in LeaseCandidate API, so this cluster serves it and the agent
 * chooses it; the CRD path is covered by test/integration/agent.integration.test.ts.
 */
const TIMINGS = ['--lease-duration=5s', '--renew-deadline=3s', '--retry-period=500ms'];
const LEASE = 'agented';
const CANDIDATES = '/apis/coordination.k8s.io/v1beta1/namespaces/default/leasecandidates';

describe('client-go electors registered by the agent (e2e: coordinator + kube-apiserver + client-go + agent)', () => {
  let clusters: CoordinatedClusters;
  let dir: string;
  let bundle: string;
  const electors: CandidateProcess[] = [];
  const agents = new Map<string, AgentProcess>();

  /** An elector that serves /healthz and does not register itself, and the agent that registers it. */
  async function pair(identity: string, emulationVersion: string): Promise<CandidateProcess> {
    const healthz = `127.0.0.1:${await freePort()}`;
    const elector = new CandidateProcess(identity, clusters.candidateBinary, [
      `--kubeconfig=${clusters.adminKubeconfig}`,
      '--context=alpha',
      `--lease=${LEASE}`,
      '--binary-version=1.35.0',
      `--emulation-version=${emulationVersion}`,
      '--register-candidate=false',
      `--healthz-address=${healthz}`,
      ...TIMINGS,
    ]);
    electors.push(elector);
    agents.set(
      identity,
      new AgentProcess(bundle, [
        `--kubeconfig=${clusters.adminKubeconfig}`,
        '--context=alpha',
        '--namespace=default',
        `--lease=${LEASE}`,
        `--identity=${identity}`,
        '--binary-version=1.35.0',
        `--emulation-version=${emulationVersion}`,
        `--health-url=http://${healthz}/healthz`,
      ]),
    );
    return elector;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-agent-e2e-'));
    [clusters, bundle] = await Promise.all([
      startCoordinatedClusters(['alpha'], []),
      bundleAgent(join(dir, 'agent.mjs')),
    ]);
  }, 600_000);

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.kill()));
    await Promise.all(electors.map((e) => e.stop()));
    await clusters?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('1. an elector that cannot register itself is elected once its agent registers it', async () => {
    const newer = await pair('newer', '1.35.0');
    await until(electors, () => newer.leading);
    expect(newer.intervals).toHaveLength(1);
  }, 120_000);

  it('2. an older emulation version registered by its agent takes over, by strategy', async () => {
    const older = await pair('older', '1.34.0');
    const newer = electors[0] as CandidateProcess;
    await until(electors, () => older.leading && !newer.leading);
    expect(overlaps(electors)).toEqual([]);
  }, 120_000);

  it('3. a killed elector is never elected again: its agent answers no ping, and the next best leads', async () => {
    const [newer, older] = electors as [CandidateProcess, CandidateProcess];
    const olderAgent = agents.get('older') as AgentProcess;
    const from = olderAgent.lines.length;
    older.kill();
    await until(electors, () => newer.leading);
    // The coordinator pinged the dead elector's candidate before voting; its agent found /healthz
    // gone and did not answer, so the vote went to the live one.
    const refusals = await olderAgent.lineCount(
      (l) => l.message === 'not renewing: the program is unhealthy' && l.reason === 'ping',
      1,
      from,
    );
    expect(String(refusals[0]?.problem)).toContain('/healthz');
    expect(overlaps(electors)).toEqual([]);
  }, 120_000);

  it('4. on SIGTERM each agent deletes its LeaseCandidate and exits 0', async () => {
    for (const [identity, agent] of agents) {
      agent.signal('SIGTERM');
      expect(await agent.exited).toEqual({ code: 0, signal: null });
      const plane = clusters.planes[0];
      if (plane === undefined) throw new Error('no cluster');
      expect((await kube(plane, 'GET', `${CANDIDATES}/${identity}`)).status).toBe(404);
    }
  }, 120_000);
});
