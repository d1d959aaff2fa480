import { describe, expect, it } from 'vitest';
import { HealthLog, UNHEALTHY_REPEAT_MS } from '../../lib/agent/health-log.js';

/** An unhealthy program is checked every second; its log says what changes, not every check. */

const T0 = Date.UTC(2026, 6, 1, 12, 0, 0);

describe('agent health log', () => {
  it('tells the first refusal, then nothing while nothing changes, then again after a minute', () => {
    const log = new HealthLog();
    expect(log.refusedWrite(T0, 'renew', 'period', 'answered 500')?.fields).toEqual({
      action: 'renew',
      reason: 'period',
      problem: 'answered 500',
      refused: 1,
      unhealthyForMs: 0,
    });
    expect(log.refusedWrite(T0 + 1000, 'renew', 'period', 'answered 500')).toBeUndefined();
    expect(log.refusedWrite(T0 + UNHEALTHY_REPEAT_MS - 1, 'renew', 'period', 'answered 500')).toBeUndefined();
    expect(
      log.refusedWrite(T0 + UNHEALTHY_REPEAT_MS, 'renew', 'period', 'answered 500')?.fields,
    ).toMatchObject({
      refused: 4,
      unhealthyForMs: UNHEALTHY_REPEAT_MS,
    });
  });

  it('tells at once when a ping is refused or the problem changes', () => {
    const log = new HealthLog();
    log.refusedWrite(T0, 'renew', 'period', 'answered 500');
    expect(log.refusedWrite(T0 + 1000, 'renew', 'ping', 'answered 500')?.fields).toMatchObject({
      reason: 'ping',
    });
    expect(log.refusedWrite(T0 + 2000, 'renew', 'ping', 'connect ECONNREFUSED')?.fields).toMatchObject({
      problem: 'connect ECONNREFUSED',
      refused: 3,
    });
  });

  it('tells the recovery once, with how long and how many writes it refused; nothing when it was healthy', () => {
    const log = new HealthLog();
    expect(log.healthy(T0)).toBeUndefined();
    log.refusedWrite(T0, 'create', 'missing', 'answered 503');
    log.refusedWrite(T0 + 1000, 'create', 'missing', 'answered 503');
    expect(log.healthy(T0 + 2500)).toEqual({
      message: 'the program is healthy again',
      fields: { refused: 2, unhealthyForMs: 2500 },
    });
    expect(log.healthy(T0 + 3000)).toBeUndefined();
    // A new outage starts its own count and is told at once.
    expect(log.refusedWrite(T0 + 4000, 'create', 'missing', 'answered 503')?.fields).toMatchObject({
      refused: 1,
    });
  });
});
