import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import { applyRbac, benchInTreeController } from './admin.js';
import { kubeCacheDir } from './build.js';
import { type ControlPlane, startControlPlane, writeKubeconfig } from './control-plane.js';

/**
 * `npm run clusters -- up --count N`: N local control planes (kube-apiserver + etcd built from Go
 * modules) with CoordinatedLeaderElection on, the coordinator's RBAC applied and the in-tree CLE
 * controller kept from leading. Writes kubeconfigs and a clusters config for `npm start`.
 * `npm run clusters -- down` stops them.
 */
const stateDir = join(kubeCacheDir(), '..', '..', 'clusters');
const stateFile = join(stateDir, 'state.json');

interface State {
  readonly planes: { name: string; server: string; dir: string; pids: number[] }[];
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 8)
    throw new InvalidArgumentError('--count must be an integer from 1 to 8');
  return count;
}

async function up(count: number): Promise<void> {
  if (existsSync(stateFile)) {
    console.error(`clusters are already up (${stateFile}); run \`npm run clusters -- down\` first`);
    process.exit(2);
  }
  mkdirSync(stateDir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `cluster-${String.fromCharCode(97 + i)}`);
  const planes: ControlPlane[] = [];
  try {
    for (const name of names) {
      const plane = await startControlPlane(name, { detached: true });
      planes.push(plane);
      await applyRbac(plane);
      await benchInTreeController(plane);
    }
  } catch (error) {
    for (const plane of planes) await plane.stop();
    throw error;
  }
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
    planes: planes.map((p) => ({ name: p.name, server: p.server, dir: p.dir, pids: p.pids() })),
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.log(`${count} local control plane(s) up, CoordinatedLeaderElection on:`);
  for (const p of planes) console.log(`  ${p.name.padEnd(10)} ${p.server}`);
  console.log(`
admin kubeconfig        ${admin}   (contexts: ${names.join(', ')})
coordinator kubeconfig  ${coordinator}   (RBAC from infra/kubernetes/rbac.yaml only)
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
program
  .command('up')
  .description('start N control planes and print their kubeconfig and contexts')
  .option('--count <n>', 'how many (1-8)', parseCount, 2)
  .action(async (options: { count: number }) => up(options.count));
program.command('down').description('stop the control planes `up` started').action(down);
program.showHelpAfterError();
program.exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
await program.parseAsync();
