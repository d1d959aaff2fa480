/** One row of a Markdown table. */
export function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}
