import { describe, expect, it } from 'vitest';
import { scriptOnTree } from '../helpers/script-on-tree.js';

const check = scriptOnTree('import-cycles.mjs');

// Each case starts a node process that loads the TypeScript compiler: seconds on a busy machine.
describe('the import-cycle check of npm run lint (unit)', { timeout: 60_000 }, () => {
  it('passes a tree whose imports point one way', () => {
    const result = check({
      'a/top.ts': "import { low } from '../b/low.js';\nexport const top = low;\n",
      'b/low.ts': 'export const low = 1;\n',
    });
    expect(result).toEqual({ status: 0, out: '' });
  });

  it('names a cycle of files, type-only imports included', () => {
    const result = check({
      'one.ts': "import type { Two } from './two.js';\nexport type One = Two;\n",
      'two.ts': "import { three } from './three.js';\nexport type Two = typeof three;\n",
      'three.ts': "import type { One } from './one.js';\nexport const three: One | undefined = undefined;\n",
    });
    expect(result.status).toBe(1);
    expect(result.out).toBe('file cycle: one.ts , three.ts , two.ts\n');
  });

  it('names a cycle of folders whose files form no cycle', () => {
    const result = check({
      'kube/cluster.ts': "import { config } from '../clusters/config.js';\nexport const cluster = config;\n",
      'clusters/config.ts': 'export const config = 1;\n',
      'clusters/registry.ts':
        "import { cluster } from '../kube/cluster.js';\nexport const registry = cluster;\n",
    });
    expect(result.status).toBe(1);
    expect(result.out).toBe('folder cycle: clusters <-> kube\n');
  });
});
