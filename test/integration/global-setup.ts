import { ensureKubeBinaries } from '../../lib/kube-local/build.js';
import { ensureLambdaNode } from '../../lib/local/packaged/lambda-node.js';
import { ensureCfnLint } from '../../scripts/ensure-cfn-lint.mjs';

/**
 * Before any integration file runs: build kube-apiserver and etcd from their Go modules if this
 * machine has not yet (about 10 minutes, once; cached under ~/.cache/lease-coordinator). Doing it
 * here keeps the cold build out of any single test's timeout. The same goes for cfn-lint.
 */
export default async function setup(): Promise<void> {
  await ensureKubeBinaries();
  // cfn-lint from PyPI, once per machine (minutes on a cold, busy machine): here, not inside a test.
  ensureCfnLint();
  // Node 22 from the npm registry, which the packaged containers run on (seconds, once per machine).
  await ensureLambdaNode('nodejs22.x', { log: (line) => console.log(line) });
}
