import { ensureCandidateBinary, ensureKubeBinaries } from '../../lib/kube-local/build.js';

/** Builds (once per machine) kube-apiserver, etcd and the client-go candidate before the e2e tier. */
export default async function setup(): Promise<void> {
  await ensureKubeBinaries();
  await ensureCandidateBinary();
}
