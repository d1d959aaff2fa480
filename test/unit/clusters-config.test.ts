import { describe, expect, it } from 'vitest';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { holderClusterPolicy } from '../../lib/clusters/lease-groups.js';
import { ConfigError } from '../../lib/errors.js';

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
      'clusters[0]: set exactly one of kubeconfig, eks or token',
    );
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
});
