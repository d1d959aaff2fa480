import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLeaseCandidate } from '../../lib/api/leasecandidate.js';
import { MAX_BODY_BYTES } from '../../lib/http/body.js';
import { candidateSortKey, partitionKey } from '../../lib/store/keys.js';
import {
  applyMutations,
  applyTextMutation,
  CANDIDATE_API_VERSIONS,
  mutation,
  padToBytes,
  textMutation,
  validCandidate,
} from '../helpers/lease-candidate-fuzz.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

/**
 * Issue 4: random and mutated LeaseCandidate heartbeats against the real HTTP API and DynamoDB
 * Local. Whatever arrives: never a 5xx, always a JSON body, a rejection (4xx) leaves every table
 * item byte-identical, and an accepted heartbeat (2xx) is what the table now holds. The seed is
 * random on purpose; fast-check prints it with any counterexample.
 */

const GOOD_CLUSTERS = ['alpha', 'beta'] as const;
const BAD_CLUSTERS = ['Not_A_Label', 'a'.repeat(64), '-x', 'a.b', '%F0%9F%98%80', 'a%2Fb'] as const;
const clusterArb = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...GOOD_CLUSTERS) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_CLUSTERS) },
);

interface FuzzRequest {
  readonly cluster: string;
  /** Text where it can be, so counterexamples read as text; bytes only for the random byte strings. */
  readonly body: string | Uint8Array;
}

type Outcomes = Map<number, number>;

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

describe('heartbeat API fuzz (integration: DynamoDB Local, fast-check)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
    // A stored candidate from the start, so "unchanged" means more than "still empty".
    const seed = candidate('sched-a', { binary: '1.34.0', emulation: '1.33.0' }, stack.clock.now);
    expect((await stack.post('/clusters/alpha/leasecandidates', seed)).status).toBe(201);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const item = (snapshotted: unknown) => unmarshall(JSON.parse(snapshotted as string));

  /** One request and every invariant that holds whatever its body was. */
  async function send(request: FuzzRequest, outcomes: Outcomes): Promise<number> {
    // Buffer.from writes a lone surrogate as U+FFFD, as fetch would: `bytes` is what the server gets.
    const bytes = Buffer.from(request.body);
    const before = await stack.snapshot();
    const response = await fetch(`${stack.url}/clusters/${request.cluster}/leasecandidates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bytes,
    });
    const status = response.status;
    outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
    const text = await response.text();
    expect(status, text).toBeLessThan(500);
    expect([200, 201, 400, 409, 413], text).toContain(status);
    const answer = parseJson(text);
    expect(answer.ok, `response is not JSON: ${text}`).toBe(true);
    const json = (answer as { value: Record<string, unknown> }).value;
    if (bytes.length > MAX_BODY_BYTES) expect(status).toBe(413);
    else expect(status).not.toBe(413);

    if (status >= 400) {
      expect(json.kind).toBe('Status');
      expect(json.code).toBe(status);
      expect(String(json.message).length).toBeGreaterThan(0);
      expect(await stack.snapshot(), 'a rejected heartbeat changed the table').toEqual(before);
      const sent = parseJson(bytes.toString('utf8'));
      if (status === 400 && sent.ok) {
        const causes = (json.details as { causes: { field: string }[] }).causes;
        expect(causes.length).toBeGreaterThan(0);
        if (isObject(sent.value)) {
          // A JSON object is always wrong somewhere in particular: every cause names its field.
          for (const { field } of causes) {
            expect(field.length).toBeGreaterThan(0);
            expect(String(json.message)).toContain(`${field}:`);
          }
        }
      }
      return status;
    }

    // Accepted: the answer is itself a valid LeaseCandidate, and it is what the table holds.
    const returned = parseLeaseCandidate(json);
    const sent = parseLeaseCandidate(JSON.parse(bytes.toString('utf8')));
    const pk = partitionKey({ scope: request.cluster, namespace: sent.namespace, name: sent.leaseName });
    const sk = candidateSortKey(request.cluster, sent.name);
    const isIt = (item: Record<string, unknown>) => item.pk === pk && item.sk === sk;
    const wasStored = before.some((i) => isIt(item(i)));
    expect(status).toBe(wasStored ? 200 : 201);
    const after = await stack.snapshot();
    // A heartbeat writes its own item and nothing else.
    expect(after.filter((i) => !isIt(item(i)))).toEqual(before.filter((i) => !isIt(item(i))));
    const stored = after.map(item).filter(isIt);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      cluster: request.cluster,
      name: sent.name,
      namespace: sent.namespace,
      leaseName: sent.leaseName,
      binaryVersion: sent.binaryVersion,
      emulationVersion: sent.emulationVersion,
      strategy: sent.strategy,
      renewTime: sent.renewTime,
    });
    expect(returned).toMatchObject({
      name: sent.name,
      namespace: sent.namespace,
      leaseName: sent.leaseName,
      renewTime: sent.renewTime,
    });
    return status;
  }

  const run = (
    requests: fc.Arbitrary<FuzzRequest>,
    numRuns: number,
    outcomes: Outcomes,
    allowed: readonly number[] = [200, 201, 400, 409, 413],
  ) =>
    fc.assert(
      fc.asyncProperty(requests, async (request) => {
        expect(allowed).toContain(await send(request, outcomes));
      }),
      { numRuns },
    );

  it('random JSON values and byte strings: never 5xx, always a Status, table unchanged', async () => {
    const outcomes: Outcomes = new Map();
    const json = (value: unknown) => JSON.stringify(value) ?? 'null';
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map(json),
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      // The right envelope around random content reaches the metadata and spec checks.
      fc
        .record({
          apiVersion: fc.constantFrom(...CANDIDATE_API_VERSIONS),
          kind: fc.constant('LeaseCandidate'),
          metadata: fc.jsonValue({ maxDepth: 2 }),
          spec: fc.jsonValue({ maxDepth: 2 }),
        })
        .map(json),
    );
    await run(fc.record({ cluster: clusterArb, body }), 70, outcomes);
    expect(outcomes.get(400) ?? 0).toBeGreaterThan(0);
  }, 90_000);

  it('valid heartbeats of every version are accepted, or 409 when not newer than the stored one', async () => {
    const outcomes: Outcomes = new Map();
    const body = validCandidate(stack.clock.now).map((doc) => JSON.stringify(doc));
    await run(fc.record({ cluster: fc.constantFrom(...GOOD_CLUSTERS), body }), 30, outcomes, [200, 201, 409]);
    expect(outcomes.get(201) ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('mutated valid LeaseCandidates (1–3 mutations, sometimes damaged text): rejected cleanly or stored', async () => {
    const outcomes: Outcomes = new Map();
    const body = fc
      .record({
        doc: validCandidate(stack.clock.now),
        mutations: fc.array(mutation(), { minLength: 1, maxLength: 3 }),
        // Damaged text in about one request of four: it is rejected before any field is looked at.
        text: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: textMutation }),
      })
      .map(({ doc, mutations, text }) => {
        const serialised = JSON.stringify(applyMutations(doc, mutations)) ?? 'null';
        return text === null ? serialised : applyTextMutation(serialised, text);
      });
    await run(fc.record({ cluster: clusterArb, body }), 170, outcomes);
    // Both sides must be reached, or the fuzz proves nothing about one of them.
    expect((outcomes.get(200) ?? 0) + (outcomes.get(201) ?? 0)).toBeGreaterThan(0);
    expect(outcomes.get(400) ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('bodies around the 64 KiB limit: 413 above it, judged on content below it', async () => {
    const outcomes: Outcomes = new Map();
    const size = fc.oneof(
      fc.constantFrom(MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES),
      fc.integer({ min: MAX_BODY_BYTES - 512, max: MAX_BODY_BYTES + 512 }),
    );
    const body = fc
      .record({
        doc: validCandidate(stack.clock.now),
        mutations: fc.array(mutation(), { maxLength: 1 }),
        size,
      })
      .map(({ doc, mutations, size }) => padToBytes(applyMutations(doc, mutations), size));
    await run(fc.record({ cluster: fc.constantFrom(...GOOD_CLUSTERS), body }), 30, outcomes);
    expect(outcomes.get(413) ?? 0).toBeGreaterThan(0);
  }, 60_000);
});
