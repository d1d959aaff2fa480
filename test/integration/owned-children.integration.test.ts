import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const OWNED_CHILDREN = pathToFileURL(
  fileURLToPath(new URL('../../lib/local/owned-children.ts', import.meta.url)),
).href;
const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A process that owns a short-lived server first (so the set empties and fills again, as the bench's
 * packaged stack and then its in-process one do), then a long `sleep`, and exits on SIGTERM as the
 * bench does. The sleep writes to the same stdout pipe, so the pipe closes only once both are gone.
 */
const OWNER = `
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ownUntilExit } from ${JSON.stringify(OWNED_CHILDREN)};
await once(ownUntilExit(spawn('true')), 'exit');
const server = ownUntilExit(spawn('sleep', ['300'], { stdio: ['ignore', 'inherit', 'inherit'] }));
process.once('SIGTERM', () => process.exit(143));
process.stdout.write('started ' + server.pid + '\\n');
setInterval(() => {}, 60_000);
`;

/** A process's state letter from /proc (R, S, Z…), or `gone`. */
function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.charAt(0) ?? 'unknown';
  } catch {
    return 'gone';
  }
}

describe('servers this process started (owned-children)', () => {
  it('are killed when the process exits on a signal, so none outlives it', { timeout: 20_000 }, async () => {
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', OWNER], {
      cwd: PROJECT_DIR,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [chunk] = (await once(owner.stdout, 'data')) as [Buffer];
    const server = Number(/started (\d+)/.exec(chunk.toString())?.[1]);
    try {
      expect(server).toBeGreaterThan(0);
      const exited = once(owner, 'exit');
      const closed = once(owner.stdout, 'close');
      owner.kill('SIGTERM');
      expect((await exited)[0]).toBe(143);
      // Held open by the sleep until it dies: a sleep left running fails the test on its timeout.
      await closed;
      expect(processState(server)).toMatch(/^(gone|Z)$/);
    } finally {
      if (server > 0 && !/^(gone|Z)$/.test(processState(server))) process.kill(server, 'SIGKILL');
    }
  });
});
