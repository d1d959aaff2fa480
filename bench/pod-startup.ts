/**
 * `npx tsx bench/pod-startup.ts [--pods 10] [--rounds 5] [--agent-bundle FILE]`: how long a gate-off pod's two processes
 * take to start on this machine, one pod alone and `--pods` at once, apart from any apiserver or
 * coordinator: bare Node to its first output (the floor of any Node process; it then waits, so that
 * its CPU time can be read), the bundled agent to
 * its `starting` line (Node, the bundle's load and its flags), and the unmodified client-go elector
 * to its first /healthz answer (the Go binary's own start, what the agent waits for before its
 * create). The gate-off figure's "pod start → the agent created its LeaseCandidate" is these plus
 * the agent's discovery and create (docs/benchmark.md, gate-off clusters). Each process's CPU time
 * to ready is shown beside (bench/process-cpu.ts): it hardly moves with the machine's load. The agent
 * is this tree's, bundled, or `--agent-bundle FILE` (another commit's dist/agent.mjs, for a pair).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureCandidateBinary } from '../lib/kube-local/build.js';
import { freePort } from '../lib/local/dynamodb-local.js';
import { bundleAgent } from '../scripts/bundle-agent.mjs';
import { processCpuMs } from './process-cpu.js';
import { summarize } from './stats.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  const value = at === -1 ? fallback : Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const pods = flag('--pods', 10);
const rounds = flag('--rounds', 5);
const bundleAt = args.indexOf('--agent-bundle');

const dir = mkdtempSync(join(tmpdir(), 'pod-startup-'));
// Nothing listens there: the processes start as in a pod, and their first apiserver call fails.
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]',
    'users: [{name: u, user: {token: t}}]',
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
  ].join('\n'),
);
const agentBundle = bundleAt === -1 ? await bundleAgent(join(dir, 'agent.mjs')) : args[bundleAt + 1];
if (agentBundle === undefined) throw new Error('--agent-bundle takes a file');
const elector = await ensureCandidateBinary();

/** Milliseconds from spawn until ready: wall, and the process's own CPU time. */
type Ready = { readonly wall: number; readonly cpu: number };
type Start = () => Promise<Ready>;

/** From spawn until `ready` resolves; the process is killed then. */
async function timed(child: ChildProcess, startedAt: number, ready: Promise<unknown>): Promise<Ready> {
  try {
    await ready;
    const wall = performance.now() - startedAt;
    return { wall, cpu: processCpuMs(child.pid as number) };
  } finally {
    child.kill('SIGKILL');
  }
}

function firstLine(child: ChildProcess, match: (line: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (data: Buffer) => {
      if (match(String(data))) resolve();
    });
    child.once('exit', () => reject(new Error('exited before its first line')));
  });
}

const bareNode: Start = async () => {
  const startedAt = performance.now();
  const child = spawn(process.execPath, ['-e', 'console.log(1); setTimeout(() => {}, 60_000)'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return timed(
    child,
    startedAt,
    firstLine(child, () => true),
  );
};

const agent: Start = async () => {
  const startedAt = performance.now();
  const child = spawn(
    process.execPath,
    [
      agentBundle,
      `--kubeconfig=${kubeconfig}`,
      '--namespace=default',
      '--lease=demo',
      '--identity=pod',
      '--binary-version=1.35.0',
      '--emulation-version=1.34.0',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return timed(
    child,
    startedAt,
    firstLine(child, (line) => line.includes('"starting"')),
  );
};

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    get(url, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    }).on('error', () => resolve(false));
  });
}

const goElector: Start = async () => {
  const port = await freePort();
  const startedAt = performance.now();
  const child = spawn(
    elector,
    [
      `--kubeconfig=${kubeconfig}`,
      '--lease=demo',
      '--identity=pod',
      '--binary-version=1.35.0',
      '--emulation-version=1.34.0',
      '--register-candidate=false',
      `--healthz-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  const up = (async () => {
    // The agent asks every 200 ms while the program starts; 10 ms here to see the start itself.
    while (!(await healthy(`http://127.0.0.1:${port}/healthz`))) await sleep(10);
  })();
  return timed(child, startedAt, up);
};

async function measure(name: string, start: Start): Promise<string> {
  const alone: Ready[] = [];
  const together: Ready[] = [];
  for (let round = 0; round < rounds; round++) {
    alone.push(await start());
    together.push(...(await Promise.all(Array.from({ length: pods }, start))));
  }
  const cell = (samples: readonly Ready[], pick: (r: Ready) => number) => {
    const { p50, p99 } = summarize(samples.map(pick));
    return `${Math.round(p50)} / ${Math.round(p99)} ms`;
  };
  const wall = (r: Ready) => r.wall;
  const cpu = (r: Ready) => r.cpu;
  return `| ${name} | ${cell(alone, wall)} | ${cell(together, wall)} | ${cell(alone, cpu)} | ${cell(together, cpu)} |`;
}

const rows = [
  await measure('bare Node (`node -e`) → its first output', bareNode),
  await measure('the bundled agent → its `starting` line', agent),
  await measure('the client-go elector → its first /healthz answer', goElector),
];
console.log(
  `| process start → ready, p50 / p99 (${rounds} rounds) | one alone | ${pods} at once | its CPU, one alone | its CPU, ${pods} at once |`,
);
console.log('| --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
