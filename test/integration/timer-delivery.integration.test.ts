import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const LEASE = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };

describe('a lease deadline whose SQS send fails (integration: DynamoDB Local)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is sent by the retried step, not left to the minute sweep', async () => {
    const send = stack.timers.deliverAt.bind(stack.timers);
    let failures = 1;
    stack.timers.deliverAt = async (...args) => {
      if (failures-- > 0) throw new Error('SendMessage: service unavailable');
      return send(...args);
    };
    const posted = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('sched-a', { binary: '1.34.0', emulation: '1.34.0' }, stack.clock.now),
    );
    expect(posted.status).toBe(201);
    // elect's first step fails on the send; the stream delivers the batch again.
    await stack.streams.drain();
    expect(failures).toBeLessThan(0);

    const state = await stack.deps.store.loadLease(LEASE);
    expect(state.lease?.record.holderIdentity).toBe('sched-a');
    // A deadline is pending, and it is one that was sent.
    expect(state.timerDueAt).toBeDefined();
    expect(stack.timers.nextDueAt()).toBe(state.timerDueAt);
  });
});
