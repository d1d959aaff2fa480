import { ensureKubeBinaries } from '../../lib/kube-local/build.js';

/**
 * Before any integration file runs: build kube-apiserver and etcd from their Go modules if this
 * machine has not yet (about 10 minutes, once; cached under ~/.cache/lease-coordinator). Doing it
 * here keeps the cold build out of any single test's timeout.
 */
export default async function setup(): Promise<void> {
  await ensureKubeBinaries();
}
