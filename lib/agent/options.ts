import { parseLeaseCandidate } from '../api/leasecandidate.js';
import { ConfigError, ValidationError } from '../errors.js';

/** Which LeaseCandidate API the agent writes: the cluster's choice (`auto`) or a forced one. */
export type ApiChoice = 'auto' | 'builtin' | 'crd';

/** What the agent registers, checked as the apiserver would check the LeaseCandidate it becomes. */
export interface CandidateSpec {
  readonly namespace: string;
  readonly identity: string;
  readonly leaseName: string;
  readonly binaryVersion: string;
  readonly emulationVersion: string;
  readonly strategy: string;
}

export interface AgentOptions {
  readonly candidate: CandidateSpec;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly healthUrl?: URL;
  readonly renewPeriodMs: number;
  readonly api: ApiChoice;
}

/**
 * The flags as commander hands them over: strings, nothing checked yet, the required ones too
 * (REQUIRED_FLAGS: checked here, after commander has named any unknown option).
 */
export interface RawFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
  readonly lease?: string;
  readonly identity?: string;
  readonly binaryVersion?: string;
  readonly emulationVersion?: string;
  readonly strategy: string;
  readonly healthUrl?: string;
  readonly renewPeriod: string;
  readonly api: string;
}

/**
 * Upstream candidates renew every 5 minutes (client-go's requeue interval). The coordinator pings a
 * candidate that has not renewed for 15 minutes and drops one silent for 30 (lib/election/timing.ts),
 * so 5 minutes keeps the agent live with two spare periods and never costs the coordinator a refresh
 * ping. The longest period allowed stays under the 15-minute refresh point.
 */
export const DEFAULT_RENEW_PERIOD_SECONDS = 300;
export const MAX_RENEW_PERIOD_SECONDS = 600;

/**
 * LeaseCandidate field → the flag that sets it, so a validation message names what the user typed;
 * a message that names the other version field ("must be greater than or equal to emulationVersion")
 * names its flag too.
 */
export const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  'metadata.name': '--identity',
  'metadata.namespace': '--namespace',
  'spec.leaseName': '--lease',
  'spec.binaryVersion': '--binary-version',
  'spec.emulationVersion': '--emulation-version',
  'spec.strategy': '--strategy',
};

/**
 * The flags without a default, each with the RawFlags key commander gives it. Commander's own
 * required options are checked before unknown ones, so `--emulation-verison 1.34.0` would be
 * reported as `--emulation-version` missing, not as the typo it is with the flag meant.
 */
const REQUIRED_FLAGS = {
  '--namespace': 'namespace',
  '--lease': 'lease',
  '--identity': 'identity',
  '--binary-version': 'binaryVersion',
  '--emulation-version': 'emulationVersion',
} as const satisfies Record<string, keyof RawFlags>;

function requiredFlags(
  flags: RawFlags,
): Record<(typeof REQUIRED_FLAGS)[keyof typeof REQUIRED_FLAGS], string> {
  const missing = Object.entries(REQUIRED_FLAGS).filter(([, key]) => flags[key] === undefined);
  if (missing.length > 0) throw new ConfigError(missing.map(([flag]) => `${flag} is required`).join('; '));
  return flags as Record<(typeof REQUIRED_FLAGS)[keyof typeof REQUIRED_FLAGS], string>;
}

/** Checks the candidate's fields with the coordinator's own LeaseCandidate validation. */
function candidateSpec(flags: RawFlags): CandidateSpec {
  const given = requiredFlags(flags);
  const spec: CandidateSpec = {
    namespace: given.namespace,
    identity: given.identity,
    leaseName: given.lease,
    binaryVersion: given.binaryVersion,
    emulationVersion: given.emulationVersion,
    strategy: flags.strategy,
  };
  try {
    parseLeaseCandidate(
      {
        apiVersion: 'coordination.k8s.io/v1beta1',
        kind: 'LeaseCandidate',
        metadata: { name: spec.identity, namespace: spec.namespace },
        spec: {
          leaseName: spec.leaseName,
          binaryVersion: spec.binaryVersion,
          emulationVersion: spec.emulationVersion,
          strategy: spec.strategy,
        },
      },
      spec.namespace,
    );
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const messages = error.issues.map(
      (i) =>
        `${FLAG_OF_FIELD[i.path] ?? i.path} ${i.message.replace(/\b(binary|emulation)Version\b/g, '--$1-version')}`,
    );
    throw new ConfigError(messages.join('; '), { cause: error });
  }
  return spec;
}

/**
 * An absolute http(s) URL. `localhost:8080/healthz` parses as a URL of scheme "localhost", so the
 * message shows what was typed rather than the scheme it was read as.
 */
function healthUrl(value: string): URL {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new ConfigError(
      `--health-url must be an absolute http(s) URL such as http://127.0.0.1:8080/healthz, not "${value}"`,
    );
  return url;
}

function renewPeriodMs(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > MAX_RENEW_PERIOD_SECONDS)
    throw new ConfigError(
      `--renew-period must be a whole number of seconds from 1 to ${MAX_RENEW_PERIOD_SECONDS}`,
    );
  return seconds * 1000;
}

function apiChoice(value: string): ApiChoice {
  if (value === 'auto' || value === 'builtin' || value === 'crd') return value;
  throw new ConfigError('--api must be one of auto, builtin, crd');
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === '') throw new ConfigError(`${flag} must not be empty`);
  return value;
}

/** Every flag checked, with a message that names the flag; throws ConfigError. */
export function parseAgentOptions(flags: RawFlags): AgentOptions {
  const kubeconfig = nonEmpty('--kubeconfig', flags.kubeconfig);
  const context = nonEmpty('--context', flags.context);
  return {
    candidate: candidateSpec(flags),
    ...(kubeconfig !== undefined && { kubeconfig }),
    ...(context !== undefined && { context }),
    ...(flags.healthUrl !== undefined && { healthUrl: healthUrl(flags.healthUrl) }),
    renewPeriodMs: renewPeriodMs(flags.renewPeriod),
    api: apiChoice(flags.api),
  };
}
