import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../lib/runtime/deps.js';
import { buildDuringInit } from '../../lib/runtime/init-phase.js';

/** The functions built on deployedDeps; each builds it while its module initializes. */
const DECIDING = {
  requeue: () => import('../../functions/requeue.js'),
  elect: () => import('../../functions/elect.js'),
  sweep: () => import('../../functions/sweep.js'),
  ingest: () => import('../../functions/ingest.js'),
  mirror: () => import('../../functions/mirror.js'),
} as const;

describe('building the wiring during Lambda’s Init phase (unit: module init, no I/O)', () => {
  afterEach(() => {
    vi.doUnmock('../../lib/runtime/deps.js');
    vi.resetModules();
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it.each(Object.keys(DECIDING) as (keyof typeof DECIDING)[])(
    '%s builds its wiring when its module is imported in a Lambda container, before any call',
    async (fn) => {
      vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', `lease-coordinator-test-${fn}`);
      const built: string[] = [];
      vi.resetModules();
      vi.doMock('../../lib/runtime/deps.js', async (original) => ({
        ...(await original<typeof import('../../lib/runtime/deps.js')>()),
        deployedDeps: async () => {
          built.push(fn);
          return {};
        },
      }));
      const module = await DECIDING[fn]();
      expect(typeof module.handler).toBe('function');
      // The import itself waited for the build: nothing has called the handler.
      expect(built).toEqual([fn]);
    },
  );

  it('builds nothing outside a Lambda container (a test or a tool importing the module)', async () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', undefined);
    const build = vi.fn(async () => ({}));
    await buildDuringInit(build);
    expect(build).not.toHaveBeenCalled();
  });

  it('logs a build that fails instead of failing the Init phase: the first call builds again', async () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const build = vi.fn(async () => {
      throw new Error('SSM GetParameter: throttled');
    });
    await expect(
      buildDuringInit(build, { AWS_LAMBDA_FUNCTION_NAME: 'lease-coordinator-test' }),
    ).resolves.toBeUndefined();
    expect(build).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('the first call builds it again'),
      expect.objectContaining({ error: expect.any(Error) }),
    );
  });
});
