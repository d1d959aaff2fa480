import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
 * `npm run clusters -- down` stops them.
 */
const stateDir = join(kubeCacheDir(), '..', '..', 'clusters');
const stateFile = join(stateDir, 'state.json');

interface State {
  readonly planes: { name: string; gate: string; server: string; dir: string; pids: number[] }[];
}

async function up(count: number, gate: GateChoice): Promise<void> {
  if (existsSync(stateFile)) {
    console.error(`clusters are already up (${stateFile}); run \`npm run clusters -- down\` first`);
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
  npm run clusters -- down`);
}

function down(): void {
  if (!existsSync(stateFile)) {
    console.log('no local clusters are up');
    return;
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  for (const plane of state.planes) {
    for (const pid of plane.pids) {
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

const program = new Command('npm run clusters --').description(
  'Local Kubernetes control planes for lease-coordinator',
);
// Before the subcommands, which copy these settings when created: a bad `up --count` exits 2 too.
program.showHelpAfterError();
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
  .action(async (options: { count: number; gate: GateChoice }) => up(options.count, options.gate));
program.command('down').description('stop the control planes `up` started').action(down);
await program.parseAsync();
