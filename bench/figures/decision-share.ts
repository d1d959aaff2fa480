import { paginateScan } from '@aws-sdk/client-dynamodb';
import { EVENT_REPORTER } from '../../lib/kube/lease-event.js';
import { kube } from '../../lib/kube-local/admin.js';
import { HISTORY_HEAD_SK, HISTORY_PK_PREFIX } from '../../lib/store/history-keys.js';
import type { Consumption } from '../capacity-meter.js';
import type { KubeBench } from '../kube-env.js';

/**
 * What each decision of a figure's trials added beside the election itself: the decision history's
 * writes (counted on the history partitions as they were made) and the Kubernetes Events recorded
 * on the trial Leases (listed in the apiservers afterwards).
 */
export interface DecisionShare {
  /**
   * Record numbers taken: the sum of the trial leases' history HEAD counters. A step that loses its
   * compare-and-set has taken one and leaves it unused, so this is at least `records`.
   */
  readonly numbers: number;
  /** History records read back (DECISION#… items): one per decision, while a lease's ring has room. */
  readonly records: number;
  /** Table calls on the history partitions between the snapshots, and their units. */
  readonly history: Consumption;
  /** Events the coordinator created on the trial Leases (each an apiserver create request). */
  readonly events: number;
  /** Apiservers those Events were found in (the trial leases are ungrouped: one cluster each). */
  readonly clusters: number;
}

const EVENTS = '/apis/events.k8s.io/v1/namespaces/default/events';

/**
 * Reads back what the trials' leases (`default/<name>` for names `isTrial` accepts) left: their history
 * partitions in the table and their Events in each of our apiservers. `history` is the meter's history
 * account over the trials.
 */
export async function decisionShare(
  bench: KubeBench,
  isTrial: (lease: string) => boolean,
  history: Consumption,
): Promise<DecisionShare> {
  let numbers = 0;
  let records = 0;
  const pages = paginateScan(
    { client: bench.coordinator.dynamodb.client },
    {
      TableName: bench.coordinator.tableName,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: HISTORY_PK_PREFIX } },
    },
  );
  for await (const page of pages)
    for (const item of page.Items ?? []) {
      const lease = item.pk?.S?.split('/');
      if (lease?.at(-2) !== 'default' || !isTrial(lease.at(-1) ?? '')) continue;
      if (item.sk?.S === HISTORY_HEAD_SK) numbers += Number(item.seq?.N ?? 0);
      else records += 1;
    }
  let events = 0;
  let clusters = 0;
  for (const plane of bench.ours) {
    const listed = await kube(plane, 'GET', EVENTS);
    if (listed.status !== 200) throw new Error(`listing Events in ${plane.name}: ${listed.status}`);
    const ours = ((listed.json.items ?? []) as EventObject[]).filter(
      (e) =>
        e.reportingController === EVENT_REPORTER &&
        e.regarding?.kind === 'Lease' &&
        isTrial(e.regarding.name ?? ''),
    );
    events += ours.length;
    if (ours.length > 0) clusters += 1;
  }
  return { numbers, records, history, events, clusters };
}

interface EventObject {
  readonly reportingController?: string;
  readonly regarding?: { readonly kind?: string; readonly name?: string };
}
