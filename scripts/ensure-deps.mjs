#!/usr/bin/env node
// Runs before `npm start`, `npm test` and every other tsx script (`npm run cli`, `clusters`, …), so
// that each works as one command on a fresh clone:
// installs the pinned dependencies (npm ci, from package-lock.json) when node_modules is missing
// or was installed from a different lockfile. npm keeps its download cache in ~/.npm.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const lock = readFileSync(join(root, 'package-lock.json'));
const hash = createHash('sha256').update(lock).digest('hex');
const stamp = join(root, 'node_modules', '.lease-coordinator-lock-sha256');

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) process.exit(0);

// A fresh clone gets exactly the lockfile (npm ci); an existing install is brought up to date in
// place (npm install), which leaves what is already right alone.
const fresh = !existsSync(join(root, 'node_modules'));
const command = fresh ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
console.error(`lease-coordinator: installing pinned dependencies (npm ${command[0]})…`);
execFileSync('npm', command, { cwd: root, stdio: 'inherit' });
writeFileSync(stamp, hash);
