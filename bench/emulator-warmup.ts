import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Enough table calls for DynamoDB Local's JVM to settle (docs/benchmark.md, "The emulator's warm-up"). */
export const EMULATOR_WARMUP_CALLS = 3000;

/** Far more than the warm-up takes (4–8 s): past it the emulator is not answering, and the run stops. */
const WARMUP_TIMEOUT_MS = 120_000;

/** What the warm-up did, kept in the run's results. */
export interface EmulatorWarmup {
  readonly calls: number;
  readonly ms: number;
}

const CALLS_SCRIPT = fileURLToPath(new URL('./emulator-warmup-calls.ts', import.meta.url));
/** Where `tsx` resolves from, whatever directory the bench was started in. */
const PROJECT_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * Warms DynamoDB Local's JVM before the timed trials: table calls like the coordinator's into a
 * scratch table of the same emulator. A cold emulator answers its first few hundred calls many
 * times slower than it does once its JIT has compiled them, and DynamoDB in AWS has no such
 * warm-up, so without this the first trials time the emulator's warm-up as well as the
 * coordinator's. The calls come from a process of their own: the coordinator's process stays as
 * cold as it is, so its own warm-up is still in the figures.
 */
export async function warmEmulator(endpoint: string, calls = EMULATOR_WARMUP_CALLS): Promise<EmulatorWarmup> {
  const started = performance.now();
  await execFileAsync(process.execPath, ['--import', 'tsx', CALLS_SCRIPT, endpoint, String(calls)], {
    cwd: PROJECT_DIR,
    timeout: WARMUP_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  return { calls, ms: Math.round(performance.now() - started) };
}
