import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One latency distribution of a figure: ours, or its baseline. */
export interface Series {
  readonly label: string;
  readonly samples: readonly number[];
}

/**
 * Writes the empirical CDF of each series as an SVG: every trial is a step, so the tail the
 * percentiles summarise stays visible. Rendered headless by vega (no canvas, no browser).
 */
export async function writeCdf(
  path: string,
  title: string,
  series: readonly Series[],
  marks: readonly { label: string; ms: number }[] = [],
): Promise<void> {
  const values = series.flatMap((s) => s.samples.map((ms) => ({ series: s.label, ms })));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 300,
    layer: [
      {
        data: { values },
        transform: [
          { window: [{ op: 'cume_dist', as: 'fraction' }], sort: [{ field: 'ms' }], groupby: ['series'] },
        ],
        mark: { type: 'line', interpolate: 'step-after', point: { size: 12 } },
        encoding: {
          x: { field: 'ms', type: 'quantitative', title: 'milliseconds' },
          y: {
            field: 'fraction',
            type: 'quantitative',
            title: 'fraction of trials',
            scale: { domain: [0, 1] },
          },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
      ...marks.map((m) => ({
        data: { values: [{ ms: m.ms, label: m.label }] },
        mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'gray' },
        encoding: { x: { field: 'ms', type: 'quantitative' as const } },
      })),
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  writeFileSync(path, await view.toSVG());
  view.finalize();
}
