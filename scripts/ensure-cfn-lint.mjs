#!/usr/bin/env node
// Installs cfn-lint from PyPI, pinned, into a venv under the user's cache directory, once per
// machine; later calls return at once. Used by the packaging test so `npm test` needs no manual step.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CFN_LINT_VERSION = '1.58.0';

export function cacheRoot() {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lease-coordinator');
}

export function ensureCfnLint() {
  const venv = join(cacheRoot(), `cfn-lint-${CFN_LINT_VERSION}`);
  const bin = join(venv, 'bin', 'cfn-lint');
  // The stamp is written last, so an interrupted install is redone rather than trusted.
  const stamp = join(venv, '.installed');
  if (existsSync(stamp)) return bin;
  mkdirSync(cacheRoot(), { recursive: true });
  // Two test runs on one machine install once: the second waits for the first's stamp instead of
  // deleting the venv under it.
  const lock = `${venv}.lock`;
  while (!tryLock(lock)) {
    if (existsSync(stamp)) return bin;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
  try {
    if (existsSync(stamp)) return bin;
    rmSync(venv, { recursive: true, force: true });
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', `cfn-lint==${CFN_LINT_VERSION}`], {
      stdio: 'inherit',
    });
    writeFileSync(stamp, CFN_LINT_VERSION);
    return bin;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A directory lock; one older than ten minutes is left from a killed install and is taken over. */
function tryLock(path) {
  try {
    mkdirSync(path);
    return true;
  } catch {
    const lockedAt = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (Date.now() - lockedAt > 600_000) rmSync(path, { recursive: true, force: true });
    return false;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureCfnLint());
