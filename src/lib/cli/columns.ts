/**
 * Tables that fit the terminal: each column as wide as its widest cell, and,
 * only when the line would not fit the terminal, the cuttable columns cut
 * (the id first, to the b9e5a992…0625 form `get` accepts back; then the
 * widest of the others, never below their minimum). Without a width (output
 * piped, or --wide) nothing is cut. Rendered by hand, not with cli-table3: a
 * table of 100k sessions spent most of its time there (bench/list.mjs).
 */
import { colours } from './style.js';

export interface ColumnSpec {
  head: string;
  /** Narrowest it may be cut to; undefined: never cut. */
  min?: number;
  /** 'middle' keeps both ends (ids); 'end' keeps the start. */
  cut?: 'end' | 'middle';
  /** Cut before any column without it. */
  cutFirst?: boolean;
}

const GAP = 2;
const ELLIPSIS = '…';

/** `text` in at most `width` characters. */
export function cutText(text: string, width: number, where: 'end' | 'middle' = 'end'): string {
  if (text.length <= width) return text;
  if (width <= 1) return ELLIPSIS.slice(0, width);
  if (where === 'end') return `${text.slice(0, width - 1)}${ELLIPSIS}`;
  const tail = Math.min(4, Math.floor((width - 1) / 2));
  return `${text.slice(0, width - 1 - tail)}${ELLIPSIS}${text.slice(text.length - tail)}`;
}

/** Widths for `natural` (the widest cell of each column) that fit `width` columns, cutting only what must be cut. */
export function fitWidths(specs: ColumnSpec[], natural: number[], width: number | undefined): number[] {
  const widths = [...natural];
  if (width === undefined) return widths;
  let total = widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  while (total > width) {
    let pick = -1;
    for (let i = 0; i < specs.length; i += 1) {
      const min = specs[i]!.min;
      if (min === undefined || widths[i]! <= min) continue;
      if (pick === -1) {
        pick = i;
        continue;
      }
      const a = specs[i]!;
      const b = specs[pick]!;
      if (Boolean(a.cutFirst) !== Boolean(b.cutFirst)) {
        if (a.cutFirst) pick = i;
      } else if (widths[i]! - min > widths[pick]! - b.min!) {
        pick = i;
      }
    }
    if (pick === -1) break;
    widths[pick] = widths[pick]! - 1;
    total -= 1;
  }
  return widths;
}

/**
 * A table printed in chunks: the first chunk sets the widths (and prints the
 * header). Later rows wider than a column are cut when the table has a width
 * limit, else the column grows (nothing is ever cut without a limit).
 */
export class ChunkedTable {
  #widths: number[] | undefined;

  constructor(
    private readonly specs: ColumnSpec[],
    /** The terminal's width; undefined: no limit, nothing cut. */
    private readonly width: number | undefined,
  ) {}

  render(rows: string[][]): string {
    const specs = this.specs;
    let out = '';
    if (this.#widths === undefined) {
      const natural = specs.map((s) => s.head.length);
      for (const row of rows) for (let i = 0; i < row.length; i += 1) if (row[i]!.length > natural[i]!) natural[i] = row[i]!.length;
      this.#widths = fitWidths(specs, natural, this.width);
      const head = this.line(specs.map((s) => s.head));
      const bold = colours().bold;
      out += `${bold(head)}\n`;
    } else if (this.width === undefined) {
      for (const row of rows) for (let i = 0; i < row.length; i += 1) if (row[i]!.length > this.#widths[i]!) this.#widths[i] = row[i]!.length;
    }
    for (const row of rows) out += `${this.line(row)}\n`;
    return out;
  }

  private line(cells: string[]): string {
    const widths = this.#widths!;
    const last = cells.length - 1;
    let line = '';
    for (let i = 0; i <= last; i += 1) {
      const w = widths[i]!;
      let cell = cells[i]!;
      if (cell.length > w) cell = cutText(cell, w, this.specs[i]!.cut);
      line += i === last ? cell : cell.padEnd(w + GAP);
    }
    return line.trimEnd();
  }
}
