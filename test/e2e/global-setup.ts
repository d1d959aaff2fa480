import { ensureCandidateBinary, ensureKubeBinaries } from '../../lib/kube-local/build.js';
import { ensurePackaged } from '../../lib/local/packaged/bundles.js';
import { ensureLambdaNodes } from '../../lib/local/packaged/lambda-node.js';
import { readStackTemplate } from '../../lib/local/packaged/stack-template.js';

/**
 * Builds (once per machine) kube-apiserver, etcd and the client-go candidate before the e2e tier,
 * and packages the functions (`serverless package --stage ci`, offline) when the zips are missing
 * or older than their sources: the packaged e2e files run those zips, on the Node of the runtime the
 * template names (from the npm registry, once per machine).
 */
export default async function setup(): Promise<void> {
  await ensureKubeBinaries();
  await ensureCandidateBinary();
  const log = (line: string) => console.log(line);
  await ensureLambdaNodes(readStackTemplate(await ensurePackaged(log)).functions.values(), { log });
}
