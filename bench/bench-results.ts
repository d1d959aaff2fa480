import type { EmulatorWarmup } from './emulator-warmup.js';
import type { BundleResult } from './figures/bundles.js';
import type { DeciderCounts } from './figures/deciders.js';
import type { DecisionShare } from './figures/decision-share.js';
import type { PairedSamples } from './figures/election.js';
import type { FailoverResult } from './figures/failover.js';
import type { GateOffResult } from './figures/gate-off.js';
import type { ConnectionResult } from './figures/kube-connections.js';
import type { PackagedResult } from './figures/packaged.js';
import type { PreemptionResult } from './figures/preemption.js';
import type { EventCost, RenewalCost } from './figures/renewal-cost.js';
import type { ThroughputRow } from './figures/throughput.js';

/** The machine the run shared: its cores and how busy it was (os.loadavg: the 1, 5 and 15 minute averages). */
export interface MachineLoad {
  cores: number;
  loadAtStart: number[];
  /** As the last figure was saved. */
  loadAtEnd: number[];
}

/** What one bench run measured, figure by figure (a figure not run is absent), as saved and reported. */
export interface BenchResults {
  date: string;
  trials: number;
  leaseDurationMs: number;
  /** Absent from runs before it was recorded. */
  machine?: MachineLoad;
  /** DynamoDB Local's warm-up before the first figure (absent from runs before it was warmed). */
  emulatorWarmup?: EmulatorWarmup;
  election?: PairedSamples;
  /** A conditional write to DynamoDB Local timed alone after the election trials (absent from earlier runs). */
  electionWrites?: number[];
  /** A Lease create against one of our apiservers timed alone after the election trials (absent from earlier runs). */
  electionLeaseCreates?: number[];
  electionCost?: EventCost;
  /** The decision history's and the Events' part of the election trials (absent from runs before them). */
  decisionShare?: DecisionShare;
  ingestDelay?: number[];
  failover?: FailoverResult;
  preemption?: PreemptionResult;
  /**
   * The same preemption trials one lease per system at a time, after the figure: the control for its
   * bunched rounds (absent from runs before stop 53, and from runs with --concurrency 1).
   */
  preemptionOneAtATime?: PreemptionResult;
  /** Absent in runs before the gate-off figure. */
  gateOff?: GateOffResult;
  propagation?: Map<number, number[]>;
  connections?: ConnectionResult;
  renewalCost?: RenewalCost;
  throughput?: ThroughputRow[];
  bundles?: BundleResult;
  /** Election, failover and preemption with the packaged bundles (absent from runs before it existed). */
  packaged?: PackagedResult;
  /** Who acted on the lease records, per figure (absent from runs before it was counted). */
  deciders?: Record<string, DeciderCounts>;
}
