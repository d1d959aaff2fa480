import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pRetry, { AbortError } from 'p-retry';
import { stringify } from 'yaml';
import { CoordinatorError, PortTakenError } from '../errors.js';
import { freePort } from '../local/dynamodb-local.js';
import { ownUntilExit } from '../local/owned-children.js';
import { ensureKubeBinaries } from './build.js';
import { httpsGet } from './https-get.js';

/**
 * The CoordinatedLeaderElection gate. `on`: the gate and the built-in LeaseCandidate APIs
 * (coordination.k8s.io v1beta1 and v1alpha2) enabled, and the in-tree CLE controller started.
 * `off`: none of that, as every managed control plane runs (EKS, AKS, GKE outside alpha clusters):
 * no LeaseCandidate API, and Lease writes lose spec.strategy and spec.preferredHolder.
 */
export type Gate = 'on' | 'off';

/** One local Kubernetes control plane: etcd + kube-apiserver on loopback. */
export interface ControlPlane {
  readonly name: string;
  readonly gate: Gate;
  readonly server: string;
  /** In system:masters: for test setup. */
  readonly adminToken: string;
  /** The coordinator's own identity (user lease-coordinator), bound only by the RBAC in infra/. */
  readonly coordinatorToken: string;
  readonly caData: string;
  readonly dir: string;
  /** Process ids of etcd and kube-apiserver. */
  pids(): number[];
  /** Stops the apiserver only: the cluster "goes away" and comes back with startApiserver. */
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
  /**
   * Freezes the apiserver (SIGSTOP): connections still open and requests still go in, but nothing
   * answers, as with a hung server or a half-open network path. `thawApiserver` resumes it.
   */
  freezeApiserver(): void;
  thawApiserver(): void;
  stop(): Promise<void>;
}

function spawnLogged(bin: string, args: string[], log: string, detached: boolean): ChildProcess {
  const fd = openSync(log, 'a');
  // Detached: the process outlives `npm run clusters -- up`, which records its pid for `down`.
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached });
  if (detached) child.unref();
  else ownUntilExit(child);
  closeSync(fd);
  return child;
}

function signal(child: ChildProcess | undefined, name: 'SIGSTOP' | 'SIGCONT'): void {
  if (child?.pid === undefined || child.exitCode !== null)
    throw new CoordinatorError(`no running apiserver to ${name}`);
  process.kill(child.pid, name);
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // SIGKILL: a cluster that goes away does not say goodbye, and tests need not wait for a graceful drain.
  child.kill('SIGKILL');
  await exited;
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

/** The kube-apiserver flags that turn Coordinated Leader Election on; a gate-off plane has none of them. */
function coordinatedLeadershipArgs(gate: Gate): string[] {
  if (gate === 'off') return [];
  return [
    '--feature-gates=CoordinatedLeaderElection=true',
    // The in-tree CLE controller leads through kube-system/leader-election-controller; short
    // timings make it stop within about a second once that Lease is taken from it, so tests can
    // keep it out of their leases' path (see benchInTreeController).
    '--coordinated-leadership-lease-duration=2s',
    '--coordinated-leadership-renew-deadline=1s',
    '--coordinated-leadership-retry-period=500ms',
    '--runtime-config=coordination.k8s.io/v1beta1=true,coordination.k8s.io/v1alpha2=true',
  ];
}

export interface ControlPlaneOptions {
  readonly detached?: boolean;
  readonly gate?: Gate;
  /** Where its three ports come from (etcd's client and peer ports, then the apiserver's); tests choose. */
  readonly pickPort?: () => Promise<number>;
}

/**
 * How many times a start is tried on fresh ports. A port found free is closed again before etcd or
 * the apiserver binds it, and any outgoing connection of the machine may take it as its own
 * ephemeral port meanwhile: the start then fails on "address already in use", not on its own fault.
 */
const START_ATTEMPTS = 3;

/**
 * Starts etcd and kube-apiserver. `gate` defaults to `on` here (what the tests were written
 * against); `npm run clusters -- up` defaults to `off`, as managed clusters run.
 */
export async function startControlPlane(
  name: string,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreshPorts(name, options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

async function startOnFreshPorts(name: string, options: ControlPlaneOptions): Promise<ControlPlane> {
  const detached = options.detached ?? false;
  const gate = options.gate ?? 'on';
  const pickPort = options.pickPort ?? freePort;
  const binaries = await ensureKubeBinaries();
  const dir = mkdtempSync(join(tmpdir(), `lease-coordinator-${name}-`));
  const [etcdPort, peerPort, apiPort] = [await pickPort(), await pickPort(), await pickPort()];
  const { adminToken, coordinatorToken } = writeCredentials(dir);
  const etcd = spawnLogged(binaries.etcd, etcdArgs(dir, etcdPort, peerPort), join(dir, 'etcd.log'), detached);
  const server = `https://127.0.0.1:${apiPort}`;
  const args = apiserverArgs({ dir, etcdPort, apiPort, server, gate });
  let apiserver: ChildProcess | undefined;
  let caData = '';
  const startApiserver = async () => {
    apiserver = spawnLogged(binaries.kubeApiserver, args, join(dir, 'apiserver.log'), detached);
    caData = await readyApiserver({ apiserver, etcd }, dir, server, adminToken);
  };
  const stop = async () => {
    await kill(apiserver);
    await kill(etcd);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await startApiserver();
  } catch (error) {
    const logs = `${tail(join(dir, 'etcd.log'))}\n${tail(join(dir, 'apiserver.log'))}`;
    await stop();
    const message = `control plane ${name} did not start:\n${logs}`;
    if (logs.includes('address already in use')) throw new PortTakenError(message, { cause: error });
    throw new CoordinatorError(message, { cause: error });
  }
  return {
    name,
    gate,
    server,
    adminToken,
    coordinatorToken,
    get caData() {
      return caData;
    },
    dir,
    pids: () => [etcd.pid, apiserver?.pid].filter((pid): pid is number => pid !== undefined),
    stopApiserver: () => kill(apiserver),
    startApiserver,
    freezeApiserver: () => signal(apiserver, 'SIGSTOP'),
    thawApiserver: () => signal(apiserver, 'SIGCONT'),
    stop,
  };
}

/**
 * Writes the apiserver's token file (an admin in system:masters, and the coordinator's own user)
 * and the service-account signing keys into `dir`; returns the two tokens.
 */
function writeCredentials(dir: string): { adminToken: string; coordinatorToken: string } {
  const adminToken = randomBytes(16).toString('hex');
  const coordinatorToken = randomBytes(16).toString('hex');
  writeFileSync(
    join(dir, 'tokens.csv'),
    `${adminToken},admin,admin-uid,"system:masters"\n${coordinatorToken},lease-coordinator,lease-coordinator-uid\n`,
  );
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { adminToken, coordinatorToken };
}

/** A one-member etcd on loopback, its data in `dir`. */
function etcdArgs(dir: string, etcdPort: number, peerPort: number): string[] {
  return [
    '--name=default',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--log-level=warn',
  ];
}

/** A kube-apiserver on loopback over that etcd, with the credentials writeCredentials wrote. */
function apiserverArgs(plane: {
  dir: string;
  etcdPort: number;
  apiPort: number;
  server: string;
  gate: Gate;
}): string[] {
  const { dir, etcdPort, apiPort, server, gate } = plane;
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // The kubernetes Service endpoint may not point at loopback; nothing here needs that Service.
    '--endpoint-reconciler-type=none',
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(dir, 'certs')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--disable-admission-plugins=ServiceAccount',
    '--enable-priority-and-fairness=false',
    ...coordinatedLeadershipArgs(gate),
  ];
}

/** Waits until the started apiserver answers /readyz; returns the CA of its serving certificate. */
async function readyApiserver(
  started: { apiserver: ChildProcess; etcd: ChildProcess },
  dir: string,
  server: string,
  adminToken: string,
): Promise<string> {
  return pRetry(
    async () => {
      if (started.apiserver.exitCode !== null)
        throw new AbortError(`kube-apiserver exited:\n${tail(join(dir, 'apiserver.log'))}`);
      // Without etcd the apiserver never gets ready: no use waiting out the retries.
      if (started.etcd.exitCode !== null)
        throw new AbortError(`etcd exited:\n${tail(join(dir, 'etcd.log'))}`);
      // The serving certificate (and its CA) appears once the apiserver has generated it.
      const ca = readFileSync(join(dir, 'certs', 'apiserver.crt'), 'utf8');
      const ready = await httpsGet(`${server}/readyz`, adminToken, ca);
      if (ready.status !== 200) throw new Error(`readyz ${ready.status}`);
      return ca;
    },
    { retries: 120, minTimeout: 250, maxTimeout: 1000, factor: 1.2 },
  );
}

/** A kubeconfig with one context per control plane, for the given user ("admin" or the coordinator). */
export function writeKubeconfig(
  path: string,
  planes: readonly ControlPlane[],
  user: 'admin' | 'coordinator',
): void {
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: planes.map((p) => ({
      name: p.name,
      cluster: { server: p.server, 'certificate-authority-data': Buffer.from(p.caData).toString('base64') },
    })),
    users: planes.map((p) => ({
      name: `${user}@${p.name}`,
      user: { token: user === 'admin' ? p.adminToken : p.coordinatorToken },
    })),
    contexts: planes.map((p) => ({ name: p.name, context: { cluster: p.name, user: `${user}@${p.name}` } })),
    'current-context': planes[0]?.name ?? '',
  };
  writeFileSync(path, stringify(document), { mode: 0o600 });
}
