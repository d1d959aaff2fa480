import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../lib/errors.js';
import { cachedFileToken, FILE_TOKEN_TTL_MS } from '../../lib/kube/file-token.js';

describe('cachedFileToken', () => {
  let dir: string;
  let path: string;
  let now: number;
  const clock = () => now;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'file-token-'));
    path = join(dir, 'token');
    now = 1_000_000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file once per minute, then picks up a rotated token', async () => {
    writeFileSync(path, 'first\n');
    const token = cachedFileToken(path, 'tokenFile', clock);
    expect(await token()).toBe('first');
    writeFileSync(path, 'rotated\n');
    now += FILE_TOKEN_TTL_MS - 1;
    expect(await token()).toBe('first');
    now += 1;
    expect(await token()).toBe('rotated');
  });

  it('counts its minute on a monotonic clock: a wall clock stepped back does not keep a token longer', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    try {
      writeFileSync(path, 'first');
      const token = cachedFileToken(path, 'tokenFile');
      expect(await token()).toBe('first');
      writeFileSync(path, 'rotated');
      // NTP steps the node's wall clock back an hour; a minute passes.
      vi.setSystemTime(Date.now() - 3_600_000);
      vi.advanceTimersByTime(FILE_TOKEN_TTL_MS);
      expect(await token()).toBe('rotated');
    } finally {
      vi.useRealTimers();
    }
  });

  it('shares one read between callers that ask at once', async () => {
    writeFileSync(path, 'shared');
    const token = cachedFileToken(path, 'tokenFile', clock);
    const answers = [token(), token(), token()];
    expect(answers[1]).toBe(answers[0]);
    expect(await Promise.all(answers)).toEqual(['shared', 'shared', 'shared']);
  });

  it('names the field and the file when it cannot be read, and tries again on the next request', async () => {
    const token = cachedFileToken(path, 'config: users[0].user.tokenFile', clock);
    const missing = token();
    await expect(missing).rejects.toThrow(ConfigError);
    await expect(missing).rejects.toThrow(`config: users[0].user.tokenFile: cannot read ${path}`);
    writeFileSync(path, 'there now');
    expect(await token()).toBe('there now');
  });

  it('refuses an empty file rather than sending an empty bearer token', async () => {
    writeFileSync(path, ' \n');
    await expect(cachedFileToken(path, 'tokenFile', clock)()).rejects.toThrow(`tokenFile: ${path} is empty`);
  });
});
