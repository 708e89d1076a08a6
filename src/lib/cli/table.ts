import Table from 'cli-table3';
import { colours } from './style.js';

export interface TableOptions {
  /** Fixed column widths (cells longer are cut with "…"); default: fit the content. */
  widths?: number[] | undefined;
  /** Print the header row (default true); chunks after the first leave it out. */
  head?: boolean;
  wide?: boolean;
}

/** A borderless table (cli-table3), two spaces between columns, no trailing blanks. */
export function renderTable(head: string[], rows: string[][], options: TableOptions = {}): string {
  const widths = options.widths ?? head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const c = colours();
  const table = new Table({
    ...(options.head === false ? {} : { head: head.map((h) => c.bold(h)) }),
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
