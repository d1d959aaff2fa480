import { describe, expect, it } from 'vitest';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { holderClusterPolicy } from '../../lib/clusters/lease-groups.js';
import { ConfigError } from '../../lib/errors.js';
import { ClusterRegistry } from '../../lib/kube/registry.js';

const clusters = [
  { name: 'alpha', kubeconfig: { path: 'kubeconfig', context: 'alpha' } },
  { name: 'beta', kubeconfig: { path: 'kubeconfig', context: 'beta' } },
];
const group = { namespace: 'default', name: 'grouped', clusters: ['alpha', 'beta'] };

function rejection(document: unknown): string {
  try {
    parseClustersConfig(document);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('the config was accepted');
}

describe('clusters config (unit)', () => {
  it('names the field and what was expected', () => {
    expect(rejection({ clusters: [{ name: 'alpha' }] })).toContain(
      'clusters[0]: set one of kubeconfig, eks or token, or httpCallers alone',
    );
    expect(
      rejection({
        clusters: [{ name: 'alpha', kubeconfig: { path: 'k' }, eks: { name: 'a', region: 'r' } }],
      }),
    ).toContain('clusters[0]: set at most one of kubeconfig, eks or token');
    expect(
      rejection({
        clusters: [
          {
            name: 'alpha',
            httpCallers: { iamPrincipalArns: ['arn:aws:sts::111122223333:assumed-role/r/s'] },
          },
        ],
      }),
    ).toContain('clusters[0].httpCallers.iamPrincipalArns[0]: must be an IAM role or user ARN');
    expect(rejection({ clusters, leaseGroups: [{ ...group, clusters: ['alpha', 'gamma'] }] })).toContain(
      'leaseGroups[0].clusters[1]: unknown cluster "gamma"',
    );
    expect(rejection({ clusters, leaseGroups: [{ ...group, holderClusterUnreachable: 'wait' }] })).toContain(
      'leaseGroups[0].holderClusterUnreachable: must be Wait or TakeOver',
    );
  });

  it('a lease group waits for an unreachable holder cluster unless it says TakeOver; a lease of one cluster always waits', () => {
    const config = parseClustersConfig({
      clusters,
      leaseGroups: [group, { ...group, name: 'active-standby', holderClusterUnreachable: 'TakeOver' }],
    });
    const policy = holderClusterPolicy(config);
    expect(config.leaseGroups[0]?.holderClusterUnreachable).toBe('Wait');
    expect(policy({ scope: 'alpha+beta', namespace: 'default', name: 'grouped' })).toBe('Wait');
    expect(policy({ scope: 'alpha+beta', namespace: 'default', name: 'active-standby' })).toBe('TakeOver');
    expect(policy({ scope: 'alpha', namespace: 'default', name: 'active-standby' })).toBe('Wait');
  });

  it('takes a cluster with only httpCallers as HTTP-only: not registered for Kubernetes, never in a lease group', () => {
    const config = parseClustersConfig({
      clusters: [
        ...clusters,
        { name: 'edge', httpCallers: { iamPrincipalArns: ['arn:aws:iam::111122223333:role/edge'] } },
      ],
    });
    const registry = new ClusterRegistry(config, () => Promise.reject(new Error('no client in a unit test')));
    expect(registry.names()).toEqual(['alpha', 'beta']);
    expect(registry.httpOnly('edge')).toBe(true);
    expect(registry.httpOnly('alpha')).toBe(false);
    expect(
      rejection({
        clusters: [...clusters, { name: 'edge', httpCallers: { tokenSha256: [] } }],
        leaseGroups: [{ ...group, clusters: ['alpha', 'edge'] }],
      }),
    ).toContain('leaseGroups[0].clusters[1]: cluster "edge" is HTTP-only');
  });
});
