import Table from 'cli-table3';
import { colours } from './style.js';

/**
 * A borderless table (cli-table3) that fits 80 columns unless `wide`: cells of
 * the columns named in `shrink` are cut with "…" when the table would be wider.
 */
export function renderTable(head: string[], rows: string[][], options: { wide?: boolean; shrink?: number[]; maxWidth?: number } = {}): string {
  const maxWidth = options.wide ? Infinity : (options.maxWidth ?? 80);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const gap = 2;
  let total = widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1);
  for (const col of options.shrink ?? []) {
    if (total <= maxWidth) break;
    const min = Math.max(head[col]!.length, 6);
    const cut = Math.min(widths[col]! - min, total - maxWidth);
    if (cut > 0) {
      widths[col] = widths[col]! - cut;
      total -= cut;
    }
  }
  const c = colours();
  const table = new Table({
    head: head.map((h) => c.bold(h)),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [] },
    colWidths: widths,
    wordWrap: false,
    truncate: '…',
  });
  for (const row of rows) table.push(row);
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}
