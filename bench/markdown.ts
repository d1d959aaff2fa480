/** One row of a Markdown table. */
export function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** A goal's last cell: met, or not met in bold. */
export function verdict(ok: boolean): string {
  return ok ? 'met' : '**not met**';
}
