#!/usr/bin/env node
// Installs cfn-lint from PyPI, pinned, into a venv under the user's cache directory, once per
// machine; later calls return at once. Used by the packaging test so `npm test` needs no manual step.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(cacheRoot(), { recursive: true });
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', `cfn-lint==${CFN_LINT_VERSION}`], {
    stdio: 'inherit',
  });
  writeFileSync(stamp, CFN_LINT_VERSION);
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureCfnLint());
