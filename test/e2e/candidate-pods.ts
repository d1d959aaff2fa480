import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRD_GROUP } from '../../lib/api/leasecandidate.js';
import { AgentProcess } from '../../lib/harness/agent-process.js';
import { CandidateProcess } from '../../lib/harness/candidates.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { freePort } from '../../lib/local/dynamodb-local.js';
import { bundleAgent } from '../../scripts/bundle-agent.mjs';

/**
 * How a pod's elector takes part:
 * - `self`: client-go registers its own LeaseCandidate (`coordination.k8s.io`, gate on only);
 * - `agent`: the elector does not register (`--register-candidate=false`) and the bundled candidate
 *   agent beside it, pointed at its /healthz, keeps the pod's LeaseCandidate (built-in or CRD);
 * - `legacy`: an uncoordinated elector (`Coordinated: false`) with no LeaseCandidate at all.
 */
export type Registration = 'self' | 'agent' | 'legacy';

export interface PodSpec {
  readonly identity: string;
  readonly cluster: ControlPlane;
  readonly lease: string;
  readonly namespace?: string;
  /** binary version, emulation version */
  readonly versions: readonly [string, string];
  readonly strategy?: string;
  /** Default: as on a real cluster of that kind, `self` where the gate is on, `agent` where it is off. */
  readonly registration?: Registration;
  /** This elector's client-go timings instead of the pods' (`CandidatePods`' constructor). */
  readonly timings?: readonly string[];
}

/** The way a candidate registers in a cluster where nobody chose otherwise: the way it has to there. */
export function registrationIn(cluster: ControlPlane): Registration {
  return cluster.gate === 'on' ? 'self' : 'agent';
}

/**
 * The LeaseCandidate collection a cluster serves: the built-in one where the gate is on, the
 * CRD's where it is off (infra/kubernetes/leasecandidate-crd.yaml).
 */
export function candidatesApi(cluster: ControlPlane, namespace = 'default') {
  const apiVersion = cluster.gate === 'on' ? 'coordination.k8s.io/v1beta1' : `${CRD_GROUP}/v1`;
  return { apiVersion, path: `/apis/${apiVersion}/namespaces/${namespace}/leasecandidates` };
}

/**
 * One pod: an unmodified client-go elector and, where it registers through one, its agent. It
 * stands for its elector in `until` and `overlaps` (the intervals are the elector's own), and it
 * dies and stops as a pod does: both containers at once.
 */
export class CandidatePod {
  private agentGone = false;
  private stopping = false;

  constructor(
    readonly elector: CandidateProcess,
    readonly agent: AgentProcess | undefined,
  ) {
    void agent?.exited.then(() => {
      this.agentGone = true;
    });
  }

  /**
   * The pod's agent ended although nobody stopped or killed the pod: its elector can no longer be
   * elected (it answers no ping). Its output, for the failure message.
   */
  agentDiedAlone(): string | undefined {
    if (!this.agentGone || this.killedAt !== undefined || this.stopping) return undefined;
    return `${this.identity}'s agent exited on its own:\n${this.agent?.output()}`;
  }

  get identity(): string {
    return this.elector.identity;
  }

  get intervals() {
    return this.elector.intervals;
  }

  get leading(): boolean {
    return this.elector.leading;
  }

  get killedAt(): number | undefined {
    return this.elector.killedAt;
  }

  nextEvent(): Promise<void> {
    return this.elector.nextEvent();
  }

  /** SIGKILL to both containers: nothing released, nothing withdrawn. Returns when the elector died. */
  kill(): number {
    const at = this.elector.kill();
    this.agent?.signal('SIGKILL');
    return at;
  }

  /** SIGTERM to both: the elector releases a Lease it holds, the agent withdraws the candidate. */
  async stop(): Promise<void> {
    this.stopping = true;
    const agent = this.agent;
    if (agent !== undefined) agent.signal('SIGTERM');
    await Promise.all([this.elector.stop(), agent?.exited]);
  }
}

/**
 * Starts pods against a set of clusters (one kubeconfig context per cluster, named like it) and
 * stops them all at the end. The agent is bundled (`npm run agent:bundle`'s build, into a
 * temporary directory) the first time a pod needs one.
 */
export class CandidatePods {
  readonly all: CandidatePod[] = [];
  private bundle: Promise<string> | undefined;
  private dir: string | undefined;

  constructor(
    private readonly stack: { readonly candidateBinary: string; readonly adminKubeconfig: string },
    /** The client-go timings every elector gets (`--lease-duration`, `--renew-deadline`, `--retry-period`). */
    private readonly timings: readonly string[],
  ) {}

  async start(spec: PodSpec): Promise<CandidatePod> {
    const registration = spec.registration ?? registrationIn(spec.cluster);
    const namespace = spec.namespace ?? 'default';
    const [binaryVersion, emulationVersion] = spec.versions;
    const where = [
      `--kubeconfig=${this.stack.adminKubeconfig}`,
      `--context=${spec.cluster.name}`,
      `--namespace=${namespace}`,
      `--lease=${spec.lease}`,
      `--binary-version=${binaryVersion}`,
      `--emulation-version=${emulationVersion}`,
      ...(spec.strategy === undefined ? [] : [`--strategy=${spec.strategy}`]),
    ];
    const healthz = registration === 'agent' ? `127.0.0.1:${await freePort()}` : undefined;
    const bundle = registration === 'agent' ? await this.agentBundle() : undefined;
    const elector = new CandidateProcess(spec.identity, this.stack.candidateBinary, [
      ...where,
      ...{
        self: [],
        agent: ['--register-candidate=false', `--healthz-address=${healthz}`],
        legacy: ['--coordinated=false'],
      }[registration],
      ...(spec.timings ?? this.timings),
    ]);
    const agent =
      bundle === undefined
        ? undefined
        : new AgentProcess(bundle, [
            ...where,
            `--identity=${spec.identity}`,
            `--health-url=http://${healthz}/healthz`,
          ]);
    const pod = new CandidatePod(elector, agent);
    this.all.push(pod);
    return pod;
  }

  /** Every pod stopped as `stop` does, and the agent bundle removed. */
  async stopAll(): Promise<void> {
    await Promise.all(this.all.map((p) => p.stop()));
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  private agentBundle(): Promise<string> {
    if (this.bundle === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-agent-'));
      this.bundle = bundleAgent(join(this.dir, 'agent.mjs'));
    }
    return this.bundle;
  }
}
