import { logger } from './http-deps.js';

/**
 * Builds a function's wiring while Lambda initializes its container: the bundle is an ES module,
 * and a top-level `await buildDuringInit(...)` holds the Init phase until it is done, before the
 * container takes its first event (docs/deploy.md, "Bundles": what that moves, and why). For the
 * deciding functions that is the clusters config from SSM and, when it names a cluster reached
 * over Kubernetes, the cluster wiring (the apiserver client and its auth), which the first call
 * would load anyway.
 *
 * Outside a Lambda container (AWS_LAMBDA_FUNCTION_NAME unset: a test or a tool importing the
 * module) it does nothing. A build that fails is logged and not thrown: a failed Init would fail
 * the invocation without running the handler, while the builds retry on their next call
 * (deployedDeps forgets a failed build), which then reports the error as before.
 */
export async function buildDuringInit(
  build: () => Promise<unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  if (env.AWS_LAMBDA_FUNCTION_NAME === undefined) return;
  try {
    await build();
  } catch (error) {
    logger.warn('could not build the wiring at init; the first call builds it again', {
      error: error as Error,
    });
  }
}
