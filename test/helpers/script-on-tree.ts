import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * A runner of one of scripts/ on a tree of files: each call writes `files` (path: source) under a
 * fresh folder and runs the script there on `.`, as `npm run lint` runs it on lib. The folders are
 * removed after the test file.
 */
export function scriptOnTree(
  script: string,
): (files: Record<string, string>) => { status: number | null; out: string } {
  const path = new URL(`../../scripts/${script}`, import.meta.url).pathname;
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return (files) => {
    const dir = mkdtempSync(join(tmpdir(), `${script}-`));
    made.push(dir);
    for (const [file, source] of Object.entries(files)) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), source);
    }
    const run = spawnSync(process.execPath, [path, '.'], { cwd: dir, encoding: 'utf8' });
    return { status: run.status, out: run.stdout };
  };
}
