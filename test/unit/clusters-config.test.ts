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

  it('refuses an API server URL that is not https: a bearer token would go in the clear, and no CA is checked', () => {
    const token = { caData: 'Q0EK', ssmParameter: '/lease-coordinator/tokens/alpha' };
    expect(
      rejection({ clusters: [{ name: 'alpha', token: { ...token, server: 'http://203.0.113.7' } }] }),
    ).toBe('invalid clusters config: clusters[0].token.server: must be the https:// URL of the API server');
    expect(
      rejection({
        clusters: [{ name: 'alpha', eks: { name: 'a', region: 'eu-west-1', endpoint: 'ftp://a.example' } }],
      }),
    ).toBe('invalid clusters config: clusters[0].eks.endpoint: must be the https:// URL of the API server');
    expect(
      parseClustersConfig({
        clusters: [{ name: 'alpha', token: { ...token, server: 'https://203.0.113.7' } }],
      }).clusters,
    ).toHaveLength(1);
  });

  it('refuses an unknown key at every level, naming it and the key it likely meant', () => {
    expect(rejection({ clusters, leaseGroup: [group] })).toBe(
      'invalid clusters config: leaseGroup: unknown field (did you mean "leaseGroups"?)',
    );
    expect(rejection({ cluster: clusters })).toContain('cluster: unknown field (did you mean "clusters"?)');
    expect(
      rejection({ clusters, leaseGroups: [group, { ...group, name: 'other', cluster: ['alpha'] }] }),
    ).toBe('invalid clusters config: leaseGroups[1].cluster: unknown field (did you mean "clusters"?)');
    expect(rejection({ clusters: [clusters[0], { name: 'beta', kubeConfig: { path: 'k' } }] })).toContain(
      'clusters[1].kubeConfig: unknown field (did you mean "kubeconfig"?)',
    );
    expect(rejection({ clusters: [{ name: 'alpha', kubeconfig: { path: 'k', contxt: 'a' } }] })).toBe(
      'invalid clusters config: clusters[0].kubeconfig.contxt: unknown field (did you mean "context"?)',
    );
    // Nothing close: the keys to pick from are the fix.
    expect(rejection({ clusters, groups: [] })).toBe(
      'invalid clusters config: groups: unknown field (the fields here: clusters, leaseGroups)',
    );
  });

  it('names every field in one style: keys after dots, list positions in brackets', () => {
    const messages = [
      rejection({ clusters: [clusters[0], { name: 'beta', eks: { name: 'b' } }] }),
      rejection({ clusters: [{ name: 'alpha', kubeconfig: {} }] }),
      rejection({ clusters: [{ name: 'alpha', token: { server: 'https://a.example' } }] }),
      rejection({ clusters, leaseGroups: [group, { ...group, clusters: ['alpha'] }], leaseGroup: [] }),
      rejection({ clusters: [clusters[0], { ...clusters[0], kubeConfig: {} }] }),
    ];
    expect(messages).toEqual([
      'invalid clusters config: clusters[1].eks.region: required: the AWS region',
      'invalid clusters config: clusters[0].kubeconfig.path: required: the kubeconfig path',
      'invalid clusters config: clusters[0].token.caData: required: the base64 PEM of the cluster CA',
      'invalid clusters config: leaseGroups[1].clusters: a lease group spans at least 2 clusters; leaseGroup: unknown field (did you mean "leaseGroups"?)',
      'invalid clusters config: clusters[1].kubeConfig: unknown field (did you mean "kubeconfig"?)',
    ]);
    const fieldPaths = messages.flatMap((m) =>
      m
        .replace('invalid clusters config: ', '')
        .split('; ')
        .map((issue) => issue.split(': ')[0]),
    );
    for (const path of fieldPaths) expect(path).toMatch(/^[A-Za-z]+(\[\d+\]|\.[A-Za-z]+)*$/);
  });

  it('names what the whole document must be when it is empty or no mapping', () => {
    expect([rejection(null), rejection([]), rejection('clusters')]).toEqual([
      'invalid clusters config: must be a mapping with a clusters list (clusters: [...]), not an empty document',
      'invalid clusters config: must be a mapping with a clusters list (clusters: [...]), not a list',
      'invalid clusters config: must be a mapping with a clusters list (clusters: [...]), not a string',
    ]);
  });

  it('names a missing or mistyped clusters or leaseGroups list as the list it must be', () => {
    expect([
      rejection({ leaseGroups: [] }),
      rejection({ clusters: 'alpha' }),
      rejection({ clusters, leaseGroups: { name: 'demo' } }),
    ]).toEqual([
      'invalid clusters config: clusters: required: the clusters to coordinate, a list',
      'invalid clusters config: clusters: must be a list of clusters',
      'invalid clusters config: leaseGroups: must be a list of lease groups',
    ]);
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
