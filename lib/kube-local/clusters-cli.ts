import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { kubeCacheDir } from './build.js';
import { writeKubeconfig } from './control-plane.js';
import { type GateChoice, parseCount, parseGate, startLocalClusters } from './local-clusters.js';

/**
 * `npm run clusters -- up --count N --gate off|on|mixed`: N local control planes (kube-apiserver +
 * etcd built from Go modules), by default with the CoordinatedLeaderElection gate off as managed
 * clusters run, the coordinator's and the candidates' RBAC and (gate off) the LeaseCandidate CRD
 * applied. Writes kubeconfigs and a clusters config for `npm start`.
 * `npm run clusters -- down` stops them. `--state-dir` keeps a second stack apart from the first
 * (another user's, or a test run's), since `down` stops whatever its directory's state.json lists.
 */
const DEFAULT_STATE_DIR = join(kubeCacheDir(), '..', '..', 'clusters');

/** `--state-dir DIR`, as a command to paste needs it: nothing for the default directory. */
function stateDirFlag(stateDir: string): string {
  return stateDir === DEFAULT_STATE_DIR ? '' : ` --state-dir ${stateDir}`;
}

interface State {
  readonly planes: { name: string; gate: string; server: string; dir: string; pids: number[] }[];
}

async function up(count: number, gate: GateChoice, stateDir: string): Promise<void> {
  const stateFile = join(stateDir, 'state.json');
  if (existsSync(stateFile)) {
    console.error(
      `clusters are already up (${stateFile}), perhaps another user's: \`npm run clusters -- down${stateDirFlag(stateDir)}\` stops them; \`up --state-dir DIR\` starts a second stack beside them`,
    );
    process.exit(2);
  }
  mkdirSync(stateDir, { recursive: true });
  const { planes, lines } = await startLocalClusters({ count, gate, detached: true });
  const names = planes.map((p) => p.name);
  const admin = join(stateDir, 'admin.kubeconfig');
  const coordinator = join(stateDir, 'coordinator.kubeconfig');
  writeKubeconfig(admin, planes, 'admin');
  writeKubeconfig(coordinator, planes, 'coordinator');
  const config = join(stateDir, 'clusters.yaml');
  writeFileSync(
    config,
    stringify({
      clusters: names.map((name) => ({
        name,
        kubeconfig: { path: 'coordinator.kubeconfig', context: name },
      })),
      leaseGroups: names.length > 1 ? [{ namespace: 'default', name: 'demo', clusters: names }] : [],
    }),
  );
  const state: State = {
    planes: planes.map((p) => ({ name: p.name, gate: p.gate, server: p.server, dir: p.dir, pids: p.pids() })),
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  // What each cluster serves, as its own discovery answered after setup.
  console.log(`${count} local control plane(s) up (--gate ${gate}):`);
  for (const line of lines) console.log(`  ${line}`);
  console.log(`
admin kubeconfig        ${admin}   (contexts: ${names.join(', ')})
coordinator kubeconfig  ${coordinator}   (RBAC from infra/kubernetes/rbac.yaml only)
candidate RBAC          ClusterRole lease-coordinator-candidate (infra/kubernetes/candidate-rbac.yaml)
clusters config         ${config}${names.length > 1 ? `   (lease group default/demo across all)` : ''}

  npm start -- --clusters ${config}
  KUBECONFIG=${admin} kubectl --context ${names[0]} get leases,leasecandidates -A
  npm run clusters -- down${stateDirFlag(stateDir)}`);
}

function down(stateDir: string): void {
  const stateFile = join(stateDir, 'state.json');
  if (!existsSync(stateFile)) {
    console.log(`no local clusters are up in ${stateDir}`);
    return;
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  for (const plane of state.planes) {
    for (const pid of plane.pids) {
      if (!runsIn(pid, plane.dir)) {
        console.log(
          `left process ${pid}: it is not ${plane.name}'s any more (its arguments do not name ${plane.dir})`,
        );
        continue;
      }
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(plane.dir, { recursive: true, force: true });
    console.log(`stopped ${plane.name}`);
  }
  rmSync(stateFile);
}

/**
 * The process is still one this stack started: etcd and kube-apiserver are started with their
 * plane's directory in their arguments. A state.json outlives its processes (a reboot), and the
 * numbers they had may belong to anything by then.
 */
function runsIn(pid: number, dir: string): boolean {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).includes(dir);
  } catch {
    // ps exits 1 when no such process runs.
    return false;
  }
}

const STATE_DIR_FLAG = '--state-dir <dir>';
const STATE_DIR_HELP = 'where state.json, the kubeconfigs and the clusters config are kept';

function resolveDir(value: string): string {
  return resolve(value);
}

const program = new Command('npm run clusters --').description(
  'Local Kubernetes control planes for lease-coordinator',
);
// Before the subcommands, which copy these settings when created: a bad `up --count` exits 2 too.
program.showHelpAfterError('(add --help for usage)');
program.exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
program
  .command('up')
  .description('start N control planes and print their kubeconfig and contexts')
  .option('--count <n>', 'how many (1-8)', parseCount, 2)
  .option(
    '--gate <gate>',
    'CoordinatedLeaderElection: off (as EKS, AKS, GKE run), on, or mixed (alternating, cluster-a on)',
    parseGate,
    'off' as GateChoice,
  )
  .option(STATE_DIR_FLAG, STATE_DIR_HELP, resolveDir, DEFAULT_STATE_DIR)
  .action(async (options: { count: number; gate: GateChoice; stateDir: string }) =>
    up(options.count, options.gate, options.stateDir),
  );
program
  .command('down')
  .description('stop the control planes `up` started')
  .option(STATE_DIR_FLAG, STATE_DIR_HELP, resolveDir, DEFAULT_STATE_DIR)
  .action((options: { stateDir: string }) => down(options.stateDir));
await program.parseAsync();
