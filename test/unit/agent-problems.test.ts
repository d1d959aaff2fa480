import { describe, expect, it } from 'vitest';
import type { CandidateSpec } from '../../lib/agent/options.js';
import { restartMessage } from '../../lib/agent/problems.js';
import { ConfigError } from '../../lib/errors.js';
import { ApiStatusError } from '../../lib/kube/apiserver.js';

/** What the agent logs when the apiserver refuses it: the cause and its fix, not "lost the cluster". */

const CANDIDATE: CandidateSpec = {
  namespace: 'my-system',
  identity: 'my-controller-0',
  leaseName: 'my-controller',
  binaryVersion: '1.35.0',
  emulationVersion: '1.35.0',
  strategy: 'OldestEmulationVersion',
};
const status = (code: number, details?: object) =>
  new ApiStatusError(code, JSON.stringify({ kind: 'Status', code, ...(details && { details }) }), 'POST /x');

describe('agent restart messages (unit)', () => {
  it.each([
    [
      status(403),
      'forbidden: bind the ClusterRole lease-coordinator-candidate to this identity in namespace my-system (infra/kubernetes/candidate-rbac.yaml): starting again',
    ],
    [
      status(401),
      'the apiserver does not accept the credentials (--kubeconfig, --context, or the pod service account): starting again',
    ],
    [
      status(422, {
        name: 'My_Controller_0',
        kind: 'leasecandidates',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message:
              'Invalid value: "My_Controller_0": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters',
            field: 'metadata.name',
          },
        ],
      }),
      'the apiserver refuses the LeaseCandidate: --identity (metadata.name) Invalid value: "My_Controller_0": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters (the CRD LeaseCandidate\'s name is a lowercase DNS subdomain: give the elector and the agent such an identity, the pod name for one): starting again',
    ],
    [
      status(404, { name: 'my-system', kind: 'namespaces' }),
      'namespace my-system does not exist in this cluster (--namespace): starting again',
    ],
    // A 404 for anything else (the CRD deleted under it) is not a missing namespace.
    [status(404, { kind: 'leasecandidates' }), 'lost the cluster: starting again'],
    [new ApiStatusError(404, '404 page not found', 'GET /x'), 'lost the cluster: starting again'],
    [status(503), 'lost the cluster: starting again'],
    [new Error('connect ECONNREFUSED 127.0.0.1:6443'), 'lost the cluster: starting again'],
    [
      new ConfigError('users.u.user.tokenFile: /var/run/token is empty'),
      'cannot read its credentials: users.u.user.tokenFile: /var/run/token is empty: starting again',
    ],
  ])('%s', (error, message) => {
    expect(restartMessage(error, CANDIDATE)).toBe(message);
  });
});
