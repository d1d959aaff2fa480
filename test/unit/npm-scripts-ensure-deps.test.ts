import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ENSURE_DEPS = 'node scripts/ensure-deps.mjs';
const { scripts } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('npm scripts on a fresh clone (package.json)', () => {
  // tsx comes from node_modules, so a tsx script (the `tsx` command, or node with `--import tsx`)
  // works first on a fresh clone only when its pre-hook installs the pinned dependencies, as `npm
  // start` and `npm test` do.
  const tsxScripts = Object.entries(scripts)
    .filter(([, command]) => command.startsWith('tsx ') || command.startsWith('node --import tsx '))
    .map(([name]) => name);

  it('finds the tsx scripts (start, cli, clusters, bench, load, agent)', () => {
    expect(tsxScripts).toEqual(
      expect.arrayContaining(['start', 'cli', 'clusters', 'bench', 'load', 'agent']),
    );
  });

  it.each(tsxScripts)('`npm run %s` installs the pinned dependencies first (pre-hook)', (name) => {
    expect(scripts[`pre${name}`]).toBe(ENSURE_DEPS);
  });

  it('`npm test` installs them first too', () => {
    expect(scripts.pretest).toBe(ENSURE_DEPS);
  });
});
