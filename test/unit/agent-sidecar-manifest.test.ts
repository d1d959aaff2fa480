import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseAgentOptions, type RawFlags } from '../../lib/agent/options.js';
import { AGENT_BUNDLE } from '../../scripts/bundle-agent.mjs';
import { ROOT } from '../helpers/cli-process.js';

/**
 * The example sidecar manifest holds together: the agent's flags pass its own validation, its
 * health URL is the elector's healthz port, and the agent's service account is bound to the
 * candidate role. (test/integration/agent.integration.test.ts has the apiserver dry-run it.)
 */

type Container = {
  name: string;
  args: string[];
  ports?: { name: string; containerPort: number }[];
};
type Doc = {
  kind: string;
  metadata: { name: string; namespace: string };
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace: string }[];
  spec?: {
    template: {
      spec: { serviceAccountName: string; initContainers: Container[]; containers: Container[] };
    };
  };
};

const docs = parseAllDocuments(
  readFileSync(new URL('../../infra/kubernetes/examples/agent-sidecar.yaml', import.meta.url), 'utf8'),
).map((d) => d.toJS() as Doc);
const deployment = docs.find((d) => d.kind === 'Deployment') as Doc & { spec: NonNullable<Doc['spec']> };
const pod = deployment.spec.template.spec;
const agent = pod.initContainers.find((c) => c.name === 'lease-candidate') as Container;

/** `--name=value` args to RawFlags, with the downward-API variables as a pod would have them. */
function flags(args: readonly string[]): RawFlags {
  const entries = args.map((arg) => {
    const [, name, value] = /^--([a-z-]+)=(.*)$/.exec(arg) ?? [];
    if (name === undefined || value === undefined) throw new Error(`not --name=value: ${arg}`);
    const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    return [
      camel,
      value.replace('$(POD_NAMESPACE)', 'my-system').replace('$(POD_NAME)', 'my-controller-7d9c-x2x4q'),
    ];
  });
  return {
    strategy: 'OldestEmulationVersion',
    renewPeriod: '300',
    api: 'auto',
    ...Object.fromEntries(entries),
  };
}

describe('example sidecar manifest (infra/kubernetes/examples/agent-sidecar.yaml)', () => {
  it("passes the agent's own flag validation", () => {
    const options = parseAgentOptions(flags(agent.args));
    expect(options.candidate).toMatchObject({ namespace: 'my-system', leaseName: 'my-controller' });
    expect(options.healthUrl?.hostname).toBe('127.0.0.1');
  });

  it("points the agent at the elector's healthz port", () => {
    const options = parseAgentOptions(flags(agent.args));
    const elector = pod.containers.find((c) => c.name === 'controller') as Container;
    const port = elector.ports?.find((p) => p.name === 'healthz')?.containerPort;
    expect(Number(options.healthUrl?.port)).toBe(port);
  });

  it("binds the pod's service account to the candidate role and to its own Lease", () => {
    const bindings = docs.filter((d) => d.kind === 'RoleBinding');
    expect(bindings.map((b) => b.roleRef?.name).sort()).toEqual([
      'lease-coordinator-candidate',
      'my-controller-leader-election',
    ]);
    for (const binding of bindings)
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'my-system' },
      ]);
  });

  it('runs the agent image as a numeric user, which runAsNonRoot needs (kubelet cannot check a name)', () => {
    const securityContext = (agent as Container & { securityContext?: { runAsNonRoot?: boolean } })
      .securityContext;
    expect(securityContext?.runAsNonRoot).toBe(true);
    const dockerfile = readFileSync(
      new URL('../../infra/kubernetes/examples/agent.Dockerfile', import.meta.url),
      'utf8',
    );
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toMatch(/^[1-9]\d*(:\d+)?$/);
  });

  it('builds from dist/: the documented context holds the one file it copies, the agent bundle', () => {
    const dockerfile = readFileSync(
      new URL('../../infra/kubernetes/examples/agent.Dockerfile', import.meta.url),
      'utf8',
    );
    const context = /^#\s+docker build .* (\S+)$/m.exec(dockerfile)?.[1];
    const copied = [...dockerfile.matchAll(/^COPY\s+(\S+)\s/gm)].map((m) => `${context}/${m[1]}`);
    expect(copied).toEqual([relative(ROOT, AGENT_BUNDLE)]);
  });
});
