/**
 * `npx tsx bench/agent-start.ts [--runs 10] [--bundle NAME=FILE]… [--node NAME=PATH]… [--cpu-prof DIR] [--in-pod]`:
 * the bundled candidate agent's real start, one process at a time, from its spawn to its first
 * LeaseCandidate created on a gate-off kube-apiserver (the CRD applied, as a managed cluster has it),
 * with its program's /healthz answering: the wall time to the `created` log line, and the CPU time
 * the process (every thread) had used by then (bench/process-cpu.ts). Each bundle
 * runs under each `node`, interleaved run by run, so a pair is compared at the same load. Without
 * `--bundle` it bundles this tree's agent; without `--node` it uses this `node`. `--cpu-prof DIR`
 * writes each run's V8 CPU profile there. The agent then withdraws (SIGTERM) before the next run.
 * `env:NAME=VALUE` after a node path (`--node 22cache=/path/node,env:NODE_COMPILE_CACHE=/tmp/c`) sets
 * an environment variable for that node's runs. `--in-pod` starts each agent as a sidecar starts: no
 * kubeconfig, the pod's service account (a token and CA at its fixed path, mounted in a private mount
 * namespace: `unshare -m`, root only, the machine's own /run untouched; the CPU then includes `sh`'s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HealthEndpoint } from '../lib/harness/agent-process.js';
import { applyCandidateRbac, applyCrd } from '../lib/kube-local/admin.js';
import { startControlPlane, writeKubeconfig } from '../lib/kube-local/control-plane.js';
import { bundleAgent } from '../scripts/bundle-agent.mjs';
import { processCpuMs } from './process-cpu.js';
import { summarize } from './stats.js';

const args = process.argv.slice(2);
const values = (name: string) => args.flatMap((a, i) => (args[i - 1] === name ? [a] : []));
const named = (name: string) =>
  values(name).map((v) => {
    const [label, rest = ''] = v.split(/=(.*)/s, 2);
    if (label === undefined || rest === '') throw new Error(`${name} takes NAME=VALUE, not ${v}`);
    return { label, value: rest };
  });
const runs = Number(values('--runs')[0] ?? 10);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
const profileDir = values('--cpu-prof')[0];
const inPod = args.includes('--in-pod');
const SERVICE_ACCOUNT_DIR = '/run/secrets/kubernetes.io/serviceaccount';

const dir = mkdtempSync(join(tmpdir(), 'agent-start-'));
const bundles = named('--bundle');
if (bundles.length === 0)
  bundles.push({ label: 'this tree', value: await bundleAgent(join(dir, 'agent.mjs')) });
const nodes = named('--node').map(({ label, value }) => {
  const [path = '', ...env] = value.split(',env:');
  return { label, path, env: Object.fromEntries(env.map((e) => e.split(/=(.*)/s, 2) as [string, string])) };
});
if (nodes.length === 0) nodes.push({ label: process.version, path: process.execPath, env: {} });

/** Resolves at the first stdout line whose message is `message`; rejects if the process exits first. */
function lineSeen(child: ChildProcess, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.includes(`"message":"${message}"`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the agent exited (${code}) before "${message}"`)));
  });
}

const plane = await startControlPlane('agent-start', { gate: 'off' });
const health = await HealthEndpoint.start();
try {
  await applyCrd(plane);
  await applyCandidateRbac(plane);
  const kubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, [plane], 'admin');
  writeFileSync(join(dir, 'token'), plane.adminToken);
  writeFileSync(join(dir, 'ca.crt'), plane.caData);
  // As a pod: the service account at its path in a mount namespace of its own, then the agent in its place.
  const podShell = [
    `mount -t tmpfs none /run && mkdir -p ${SERVICE_ACCOUNT_DIR}`,
    `cp ${join(dir, 'token')} ${join(dir, 'ca.crt')} ${SERVICE_ACCOUNT_DIR}/`,
    'exec "$@"',
  ].join(' && ');
  const podEnv = {
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: new URL(plane.server).port,
    HOME: dir,
  };
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const samples = new Map<string, { wall: number[]; cpu: number[] }>();
  // Run -1, not counted: a new apiserver's first requests for the CRD's objects are slow.
  for (let run = -1; run < runs; run++)
    for (const bundle of run < 0 ? bundles.slice(0, 1) : bundles)
      for (const node of run < 0 ? nodes.slice(0, 1) : nodes) {
        const key = `${bundle.label} | ${node.label}`;
        const profile =
          profileDir === undefined
            ? []
            : [
                '--cpu-prof',
                `--cpu-prof-dir=${profileDir}`,
                `--cpu-prof-name=${key.replace(/\W+/g, '_')}-${run}.cpuprofile`,
              ];
        const agent = [
          node.path,
          ...profile,
          bundle.value,
          ...(inPod ? [] : [`--kubeconfig=${kubeconfig}`]),
          '--namespace=default',
          '--lease=demo',
          `--identity=start-${run}`,
          '--binary-version=1.35.0',
          '--emulation-version=1.34.0',
          `--health-url=${health.url}`,
        ];
        const [command, ...rest] = inPod ? ['unshare', '-m', 'sh', '-c', podShell, 'sh', ...agent] : agent;
        const env: NodeJS.ProcessEnv = { ...process.env, ...node.env, ...(inPod && podEnv) };
        if (inPod) delete env.KUBECONFIG;
        const startedAt = performance.now();
        const child = spawn(command as string, rest, { stdio: ['ignore', 'pipe', 'inherit'], env });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        await lineSeen(child, 'created');
        const wall = performance.now() - startedAt;
        const cpu = processCpuMs(child.pid as number);
        child.kill('SIGTERM');
        await exited;
        if (run < 0) continue;
        const s = samples.get(key) ?? { wall: [], cpu: [] };
        s.wall.push(wall);
        s.cpu.push(cpu);
        samples.set(key, s);
      }
  const cell = (xs: number[]) => {
    const { p50, p99 } = summarize(xs);
    return `${Math.round(p50)} / ${Math.round(p99)} ms`;
  };
  console.log(`| bundle | node | spawn → created, wall p50 / p99 | CPU by then p50 / p99 (${runs} runs) |`);
  console.log('| --- | --- | --- | --- |');
  for (const [key, s] of samples) console.log(`| ${key} | ${cell(s.wall)} | ${cell(s.cpu)} |`);
} finally {
  await health.stop();
  await plane.stop();
  rmSync(dir, { recursive: true, force: true });
}
