import { type EmulatorWarmup, warmEmulator } from '../emulator-warmup.js';
import { type ColdStarts, coldStarts, type PackagedBench, startPackagedBench } from '../packaged-env.js';
import { measureElection, type PairedSamples } from './election.js';
import { type FailoverResult, measureFailover } from './failover.js';
import { measurePreemption, type PreemptionResult } from './preemption.js';

/**
 * Election, failover and preemption with the coordinator as deployed (the packaged bundles), each
 * paired with the in-tree controller in the same run; and every function's invocations and cold
 * starts over the whole run. A figure is missing when the run stopped before it.
 */
export interface PackagedResult {
  election?: PairedSamples;
  failover?: FailoverResult;
  preemption?: PreemptionResult;
  functions: ColdStarts[];
  /** DynamoDB Local's warm-up before the first trial (absent from runs before it was warmed). */
  emulatorWarmup?: EmulatorWarmup;
  /** Every timer's arrival at `requeue` after its deadline, ms, over the whole run. */
  timerLateness?: number[];
  /**
   * When each new `requeue` container was started, ms after the failover trials started (negative:
   * before); their inits are the function's `initMs`. One still starting when the failovers'
   * deadlines come due holds one of the timer queue's two batches for its whole init.
   */
  requeueColdStartsMs?: number[];
}

/**
 * Runs the three figures of the in-process bench, with the same trial functions, against the
 * packaged bench (its own apiservers, started and stopped here). `progress` gets the result after
 * each figure, so a run stopped part-way still keeps what it measured.
 */
export async function measurePackaged(
  trials: number,
  concurrency: number,
  log: (line: string) => void,
  progress: (result: PackagedResult) => Promise<unknown>,
): Promise<PackagedResult> {
  log(
    'starting the packaged stack: 2 kube-apiservers (1 baseline, 1 ours), DynamoDB Local, the packaged bundles',
  );
  const bench = await startPackagedBench(log);
  const result: PackagedResult = { functions: [] };
  let failoverStartedAt: number | undefined;
  const step = async (figure: string, run: (bench: PackagedBench) => Promise<void>) => {
    log(`packaged ${figure}: ${trials} trials each`);
    if (figure === 'failover') failoverStartedAt = Date.now();
    await run(bench);
    result.functions = coldStarts(bench.coordinator);
    result.timerLateness = [...bench.timerLateness];
    if (failoverStartedAt !== undefined) {
      const since = failoverStartedAt;
      result.requeueColdStartsMs = bench.requeueColdStarts.map((at) => at - since);
    }
    await progress(result);
  };
  try {
    result.emulatorWarmup = await warmEmulator(bench.coordinator.dynamodb.endpoint);
    log(
      `packaged: DynamoDB Local warmed, ${result.emulatorWarmup.calls} table calls in ${result.emulatorWarmup.ms} ms`,
    );
    await step('election', async (b) => {
      result.election = await measureElection(b, trials);
    });
    await step('failover', async (b) => {
      result.failover = await measureFailover(b, trials, concurrency);
    });
    await step('preemption', async (b) => {
      result.preemption = await measurePreemption(b, trials, concurrency);
    });
    return result;
  } finally {
    await bench.stop();
  }
}
