import type { Logger } from '@aws-lambda-powertools/logger';
import { formatMicroTime } from '../api/time.js';
import type { Millis } from '../election/types.js';
import { CandidateApiNotServedError } from '../errors.js';
import { type CandidateApi, chooseCandidateApi, describeApi } from './candidate-api.js';
import { askedEarly, type HealthProbe } from './health.js';
import { HealthLog } from './health-log.js';
import type { CandidatePort, RawCandidate } from './kube.js';
import type { ApiChoice, CandidateSpec } from './options.js';
import { restartMessage } from './problems.js';
import { type Decision, decide, type Observed, observe } from './renewal.js';
import { Wakeup } from './wakeup.js';

export type AgentLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface AgentDeps {
  readonly port: CandidatePort;
  readonly health: HealthProbe;
  readonly clock: () => Millis;
  readonly logger: AgentLogger;
  readonly candidate: CandidateSpec;
  readonly renewPeriodMs: Millis;
  readonly api: ApiChoice;
  /** How soon an unhealthy program is asked again; keeps a pending ping answerable within its 5 s window. */
  readonly healthRetryMs?: Millis;
}

const DEFAULT_HEALTH_RETRY_MS = 1_000;
/**
 * How soon a program that has not been healthy yet is asked again. As a native sidecar the agent
 * starts before the program it stands for, so its first look finds it still starting; at a
 * one-second retry the candidate would be registered up to a second after the program is up, a
 * second every new pod's election or preemption waits. A local GET five times a second costs nothing.
 */
export const STARTING_HEALTH_RETRY_MS = 200;
const MAX_RESTART_DELAY_MS = 30_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The spec the agent writes: the flags, and renewTime as MicroTime with 6 digits like client-go's. */
function desiredSpec(candidate: CandidateSpec, now: Millis): Record<string, unknown> {
  return {
    leaseName: candidate.leaseName,
    binaryVersion: candidate.binaryVersion,
    emulationVersion: candidate.emulationVersion,
    strategy: candidate.strategy,
    renewTime: formatMicroTime(now),
  };
}

async function act(
  deps: AgentDeps,
  api: CandidateApi,
  decision: Exclude<Decision, { action: 'wait' }>,
  observed: Observed,
): Promise<RawCandidate | undefined> {
  const spec = desiredSpec(deps.candidate, deps.clock());
  if (decision.action === 'create') return deps.port.create(api, spec);
  if (decision.action === 'replace') {
    await deps.port.remove(api, observed.kind === 'missing' ? undefined : observed.resourceVersion);
    return deps.port.create(api, spec);
  }
  return deps.port.patchSpec(api, spec);
}

function numericVersion(observed: Observed): bigint | undefined {
  const rv = observed.kind === 'missing' ? undefined : observed.resourceVersion;
  return rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

/**
 * Which of two views of the object to keep: `seen` (a watch event) unless `other` (a write's answer,
 * or what was seen before) is provably newer. resourceVersions are opaque by contract; they are
 * compared only when both are integers, as etcd's are. When that cannot be told, the event wins: at
 * worst one extra renewal, never a ping lost because an older view was written over it.
 */
function keepNewer(seen: Observed, other: Observed): Observed {
  const a = numericVersion(seen);
  const b = numericVersion(other);
  if (a !== undefined && b !== undefined) return a > b ? seen : other;
  return seen;
}

/** What a session knows of its LeaseCandidate: the newest view of it, and how its watch ended. */
interface CandidateView {
  observed: Observed;
  /** Watch events seen so far: a write whose answer comes after one keeps the newer of the two. */
  events: number;
  ended: { error: unknown } | undefined;
}

/** Lists the LeaseCandidate and watches it from there, pokes `wakeup` on every change. */
async function watchCandidate(
  deps: AgentDeps,
  api: CandidateApi,
  wakeup: Wakeup,
): Promise<{ view: CandidateView; watch: AbortController }> {
  const { object, resourceVersion } = await deps.port.read(api);
  const view: CandidateView = { observed: observe(object), events: 0, ended: undefined };
  const watch = await deps.port.watch(
    api,
    resourceVersion,
    (event) => {
      view.events++;
      // A write's answer may have overtaken this event: an older event must not undo it.
      if (event.type === 'object') view.observed = keepNewer(observe(event.object), view.observed);
      else if (event.type === 'deleted') view.observed = { kind: 'missing' };
      else view.ended = { error: new Error(`the watch failed: ${JSON.stringify(event.status)}`) };
      wakeup.poke();
    },
    (error) => {
      view.ended ??= { error };
      wakeup.poke();
    },
  );
  return { view, watch };
}

/**
 * Asks the program whether it is healthy before a write, and logs a refusal or a recovery. Returns
 * how long to wait before asking again when it is not, undefined when the write may go ahead.
 */
async function waitBeforeWrite(
  deps: AgentDeps,
  healthLog: HealthLog,
  seen: { healthy: boolean },
  decision: Exclude<Decision, { action: 'wait' }>,
  reason: string,
): Promise<Millis | undefined> {
  const health = await deps.health();
  if (!health.healthy) {
    // No heartbeat for a program that is not well: a dead one is never elected again and again.
    const line = healthLog.refusedWrite(deps.clock(), decision.action, reason, health.problem);
    if (line !== undefined) deps.logger.warn(line.message, line.fields);
    return seen.healthy ? (deps.healthRetryMs ?? DEFAULT_HEALTH_RETRY_MS) : STARTING_HEALTH_RETRY_MS;
  }
  seen.healthy = true;
  const recovered = healthLog.healthy(deps.clock());
  if (recovered !== undefined) deps.logger.info(recovered.message, recovered.fields);
  return undefined;
}

/** Writes what `decision` asks, keeps the newer of its answer and what the watch saw meanwhile, logs it. */
async function write(
  deps: AgentDeps,
  api: CandidateApi,
  decision: Exclude<Decision, { action: 'wait' }>,
  reason: string,
  view: CandidateView,
): Promise<void> {
  const before = view.events;
  const written = observe(await act(deps, api, decision, view.observed));
  view.observed = view.events === before ? written : keepNewer(view.observed, written);
  logWritten(deps, decision.action === 'renew' ? 'renewed' : `${decision.action}d`, reason, written);
}

function logWritten(deps: AgentDeps, message: string, reason: string, written: Observed): void {
  deps.logger.info(message, {
    reason,
    ...(written.kind === 'present' &&
      written.renewTime !== undefined && {
        renewTime: formatMicroTime(written.renewTime),
      }),
  });
}

/**
 * The first registration, sent as soon as the API is known and the program answers healthy, before
 * the LeaseCandidate is listed and watched: a new pod's election or preemption waits for it, and
 * the list and the watch are two apiserver round trips that a node starting many pods at once
 * makes slow (docs/agent.md). A LeaseCandidate already there (the agent restarted) is left as it is
 * for the session, which corrects it as always; a program not healthy yet is asked again there.
 */
async function registerAtStart(
  deps: AgentDeps,
  api: CandidateApi,
  healthLog: HealthLog,
  seen: { healthy: boolean },
): Promise<void> {
  const create = { action: 'create' } as const;
  if ((await waitBeforeWrite(deps, healthLog, seen, create, 'missing')) !== undefined) return;
  const created = await deps.port.createIfAbsent(api, desiredSpec(deps.candidate, deps.clock()));
  if (created !== undefined) logWritten(deps, 'created', 'missing', observe(created));
}

/**
 * One list-then-watch of the agent's LeaseCandidate, renewing as `decide` says while the program is
 * healthy. Returns when the watch ends normally; throws when it fails.
 */
async function runSession(
  deps: AgentDeps,
  api: CandidateApi,
  signal: AbortSignal,
  healthLog: HealthLog,
  seen: { healthy: boolean },
  onCurrent: () => void,
): Promise<void> {
  const wakeup = new Wakeup();
  const { view, watch } = await watchCandidate(deps, api, wakeup);
  deps.logger.info('watching the LeaseCandidate', { api: describeApi(api), found: view.observed.kind });
  try {
    while (!signal.aborted && view.ended === undefined) {
      const decision = decide(view.observed, deps.candidate, deps.clock(), deps.renewPeriodMs);
      if (decision.action === 'wait') {
        onCurrent();
        await wakeup.sleep(decision.until - deps.clock(), signal);
        continue;
      }
      const reason = decision.action === 'create' ? 'missing' : decision.reason;
      const retry = await waitBeforeWrite(deps, healthLog, seen, decision, reason);
      if (retry !== undefined) {
        await wakeup.sleep(retry, signal);
        continue;
      }
      if (signal.aborted) break;
      await write(deps, api, decision, reason, view);
    }
  } finally {
    watch.abort();
  }
  // Our own abort ends the watch with an AbortError: that is a withdrawal, not a lost cluster.
  if (view.ended?.error && !signal.aborted) throw view.ended.error;
}

async function withdraw(deps: AgentDeps, api: CandidateApi): Promise<void> {
  const removed = await deps.port.remove(api);
  deps.logger.info(removed ? 'withdrew: deleted the LeaseCandidate' : 'withdrew: it was already gone', {
    api: describeApi(api),
  });
}

/**
 * Keeps the LeaseCandidate renewed until `signal` aborts, then deletes it. Starts again (rediscovering
 * the API, relisting) whenever the watch ends; a cluster that stops serving the API it used and now
 * serves the other gets the candidate moved, since the coordinator reads only one per cluster.
 */
export async function runAgent(agentDeps: AgentDeps, signal: AbortSignal): Promise<void> {
  const deps = { ...agentDeps, health: askedEarly(agentDeps.health) };
  let api: CandidateApi | undefined;
  let failures = 0;
  const healthLog = new HealthLog();
  const seen = { healthy: false };
  let starting = true;
  while (!signal.aborted) {
    try {
      const chosen = chooseCandidateApi(await deps.port.served(), deps.api);
      if (api !== undefined && describeApi(api) !== describeApi(chosen)) {
        deps.logger.warn('the cluster serves another LeaseCandidate API now: moving there', {
          from: describeApi(api),
          to: describeApi(chosen),
        });
        await deps.port.remove(api);
      }
      api = chosen;
      if (starting) {
        starting = false;
        await registerAtStart(deps, api, healthLog, seen);
        if (signal.aborted) break;
      }
      // The back-off starts over once the LeaseCandidate is as it should be, not merely watched: an
      // apiserver that lists and watches but refuses every write (a missing namespace) backs off.
      await runSession(deps, api, signal, healthLog, seen, () => {
        failures = 0;
      });
    } catch (error) {
      // Before the first registration, a cluster that serves neither API is a setup error: fatal,
      // and said once. Afterwards the same answer comes from an apiserver that is starting again
      // (its discovery lists a single group for a moment; the e2e fault injection met it), so it
      // is a lost cluster like any other: the agent exiting there left its program unelectable.
      if (error instanceof CandidateApiNotServedError && api === undefined) throw error;
      failures++;
      const delay = Math.min(MAX_RESTART_DELAY_MS, 1000 * 2 ** (failures - 1));
      deps.logger.error(restartMessage(error, deps.candidate), { error: message(error), retryInMs: delay });
      await new Wakeup().sleep(delay, signal);
    }
  }
  if (api !== undefined) await withdraw(deps, api);
}
