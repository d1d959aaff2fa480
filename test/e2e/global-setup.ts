import { ensureCandidateBinary, ensureKubeBinaries } from '../../lib/kube-local/build.js';
import { ensurePackaged } from '../../lib/local/packaged/bundles.js';

/**
 * Builds (once per machine) kube-apiserver, etcd and the client-go candidate before the e2e tier,
 * and packages the functions (`serverless package --stage ci`, offline) when the zips are missing
 * or older than their sources: the packaged e2e files run those zips.
 */
export default async function setup(): Promise<void> {
  await ensureKubeBinaries();
  await ensureCandidateBinary();
  await ensurePackaged((line) => console.log(line));
}
