import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, AttributeValue as LambdaAttributeValue } from 'aws-lambda';
import { candidateApiOf } from '../api/leasecandidate.js';
import type { CandidateApiVersion } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseItem } from '../store/items.js';
import { LEASE_SK, partitionKey } from '../store/keys.js';
import type { ClusterOutcome } from '../sync/mirror.js';

/**
 * One line per lease, printed each time a decision about it lands in the table:
 *   12:00:01  kube-system/kube-scheduler @alpha  holder=sched-b  term=1  strategy=OldestEmulationVersion
 */
export function liveViewLine(record: DynamoDBRecord): string | undefined {
  const lease = leaseOf(record);
  return lease === undefined ? undefined : lineOfLease(lease);
}

function lineOfLease(lease: LeaseItem): string {
  const cluster = String(lease.pk)
    .replace(/^LEASE#/, '')
    .split('/')[0];
  const time = new Date(lease.updatedAt).toISOString().slice(11, 19);
  const fields = [
    `holder=${lease.holderIdentity || '(none)'}`,
    `term=${lease.term}`,
    ...(lease.preferredHolder ? [`preferred=${lease.preferredHolder}`] : []),
    `strategy=${lease.strategy ?? '(none)'}`,
    `(${lease.change})`,
  ];
  return `${time}  ${lease.namespace}/${lease.name} @${cluster}  ${fields.join('  ')}`;
}

/** The lease a stream record wrote, if it wrote one. */
function leaseOf(record: DynamoDBRecord): LeaseItem | undefined {
  if (record.dynamodb?.Keys?.sk?.S !== LEASE_SK || record.dynamodb.NewImage === undefined) return undefined;
  const image = record.dynamodb.NewImage as Record<string, LambdaAttributeValue>;
  return unmarshall(image as Record<string, AttributeValue>) as LeaseItem;
}

/** What a lease's mirror words describe: who holds it, in which term, and who is asked to take it. */
function decisionOf(lease: LeaseItem): string {
  return JSON.stringify([lease.holderIdentity ?? '', lease.term, lease.preferredHolder ?? '']);
}

/**
 * What ingest reads in a cluster, for the head of the view. A cluster that serves no LeaseCandidate
 * API is shouted about: its candidates cannot register, and nothing else would show it.
 */
export function candidateApiLine(cluster: string, api: CandidateApiVersion | undefined): string {
  return api === undefined
    ? `${cluster}  NO LeaseCandidate API: its candidates cannot register; apply infra/kubernetes/leasecandidate-crd.yaml`
    : `${cluster}  LeaseCandidates from ${candidateApiOf(api).apiVersion}`;
}

/**
 * Keeps one line per cluster (the LeaseCandidate API ingest reads there) and one per lease. On a
 * terminal the block is redrawn in place as decisions land; elsewhere (a pipe, a log file) each
 * changed line is printed once.
 */
export class LiveView {
  private readonly lines = new Map<string, string>();
  private readonly clusters = new Map<string, string>();
  /** By cluster: candidateApiLine. */
  private readonly apis = new Map<string, string>();
  /** By lease: the line last printed, in a pipe, where a line the same as the last is left out. */
  private readonly printed = new Map<string, string>();
  /** By lease: the decision shown (holder, term, preferred holder), which its mirror words describe. */
  private readonly decisions = new Map<string, string>();
  private drawn = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  update(record: DynamoDBRecord): void {
    const lease = leaseOf(record);
    const pk = record.dynamodb?.Keys?.pk?.S;
    if (lease === undefined || pk === undefined) return;
    this.forgetOtherDecisionsMirror(pk, lease);
    this.lines.set(pk, lineOfLease(lease));
    this.draw(pk);
  }

  /**
   * Mirror words describe the decision they wrote out: under a new holder, term or preferred
   * holder (or a lease's first line) they would show the previous state's outcomes as this one's.
   * Left out until this decision's own pass lands; a pass that landed just before the record is
   * dropped with them, which shows no words rather than wrong ones.
   */
  private forgetOtherDecisionsMirror(pk: string, lease: LeaseItem): void {
    const decision = decisionOf(lease);
    if (this.decisions.get(pk) !== decision) this.clusters.delete(pk);
    this.decisions.set(pk, decision);
  }

  /** What each cluster of a lease shows after a mirror pass: `alpha:in-sync beta:unreachable`. */
  mirrored(key: LeaseKey, outcomes: Record<string, ClusterOutcome>): void {
    const pk = partitionKey(key);
    this.clusters.set(
      pk,
      // In name order: passes that came to the same print the same, whichever cluster answered first.
      Object.entries(outcomes)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([cluster, outcome]) => `${cluster}:${outcome}`)
        .join(' '),
    );
    if (this.lines.has(pk)) this.draw(pk);
  }

  /** Ingest learned which LeaseCandidate API it reads in `cluster` (undefined: none). */
  candidateApi(cluster: string, api: CandidateApiVersion | undefined): void {
    const line = candidateApiLine(cluster, api);
    this.apis.set(cluster, line);
    if (!this.out.isTTY) this.out.write(`${line}\n`);
    else this.redraw();
  }

  private lineOf(pk: string): string {
    const clusters = this.clusters.get(pk);
    return `${this.lines.get(pk)}${clusters === undefined ? '' : `  [${clusters}]`}`;
  }

  private draw(pk: string): void {
    if (!this.out.isTTY) {
      const line = this.lineOf(pk);
      if (this.printed.get(pk) === line) return;
      this.printed.set(pk, line);
      this.out.write(`${line}\n`);
      return;
    }
    this.redraw();
  }

  private redraw(): void {
    // Move up over the previous block, clear it, and draw the current one.
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}F\x1b[J`);
    const block = [...this.apis.values(), ...[...this.lines.keys()].map((key) => this.lineOf(key))];
    this.out.write(`${block.join('\n')}\n`);
    this.drawn = block.length;
  }
}
