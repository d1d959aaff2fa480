import { describe, expect, it } from 'vitest';
import { scriptOnTree } from '../helpers/script-on-tree.js';

const check = scriptOnTree('code-size.mjs');

/** `count` numbered statements, one a line. */
function statements(count: number): string {
  return Array.from({ length: count }, (_, i) => `  const v${i} = ${i};\n`).join('');
}

// Each case starts a node process that loads the TypeScript compiler: seconds on a busy machine.
describe('the file and function size check of npm run lint (unit)', { timeout: 60_000 }, () => {
  it('passes a 300-line file whose functions are at most 60 lines each', () => {
    // 60 lines: the signature, 58 statements, the closing brace.
    const fn = (name: string) => `export function ${name}() {\n${statements(58)}}\n`;
    const source = `${fn('one')}${fn('two')}${fn('three')}${fn('four')}${fn('five')}`;
    expect(source.split('\n').length - 1).toBe(300);
    expect(check({ 'a/ok.ts': source })).toEqual({ status: 0, out: '' });
  });

  it('names a file over 300 lines', () => {
    const result = check({ 'a/long.ts': `export const x = 1;\n${'// filler\n'.repeat(300)}` });
    expect(result).toEqual({ status: 1, out: 'a/long.ts: 301 lines (at most 300)\n' });
  });

  it('names each function over 60 lines by where it stands, methods and arrows included', () => {
    const source = [
      `export function outer() {\n${statements(59)}}\n`,
      `export class Store {\n  put() {\n${statements(59)}  }\n}\n`,
      `export const start = () => {\n${statements(59)}};\n`,
    ].join('');
    const result = check({ 'b/long.ts': source });
    expect(result.status).toBe(1);
    expect(result.out).toBe(
      [
        'b/long.ts:1 outer: 61 lines (at most 60)',
        'b/long.ts:63 Store.put: 61 lines (at most 60)',
        'b/long.ts:125 start: 61 lines (at most 60)',
        '',
      ].join('\n'),
    );
  });

  it('counts a nested function inside its parent and names it by its parent', () => {
    const inner = `  const run = async () => {\n${statements(59)}  };\n`;
    const result = check({ 'c/nest.ts': `export function host() {\n${inner}  return run;\n}\n` });
    expect(result.status).toBe(1);
    expect(result.out).toBe(
      'c/nest.ts:1 host: 64 lines (at most 60)\nc/nest.ts:2 host > run: 61 lines (at most 60)\n',
    );
  });

  it('is not misled by braces inside strings and comments', () => {
    const body = `  const s = '{{{';\n  // }}}\n${statements(40)}`;
    expect(check({ 'd/ok.ts': `export function f() {\n${body}}\n` })).toEqual({ status: 0, out: '' });
  });
});
