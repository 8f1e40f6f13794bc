/**
 * A plain-text table that fits a terminal's width: flexible columns shrink (down to a floor), then whole columns
 * are dropped in the order given, least important first. Widths count code points, which is what a terminal
 * shows for the ids, commands and paths a list holds (wide characters are rare there and only cost alignment).
 */
export interface Column<Row> {
  key: string;
  header: string;
  /** The cell's text, without colour (widths are measured on it). */
  text(row: Row): string;
  /** Colour or marks around the text (must not change its visible width). */
  paint?: (row: Row, text: string) => string;
  align?: 'left' | 'right';
  /** A column that may be cut, and how: an ellipsis at the end (a command) or at the start (a path). */
  shrink?: { min: number; from: 'end' | 'start' };
  /** Lower drops first when the table cannot fit; a column without it is never dropped. */
  dropRank?: number;
}

const GAP = '  ';

function visibleLength(text: string): number {
  return [...text].length;
}

/** Cut to `width` code points with an ellipsis at the end or at the start. */
export function cut(text: string, width: number, from: 'end' | 'start'): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  return from === 'end' ? `${chars.slice(0, width - 1).join('')}…` : `…${chars.slice(chars.length - (width - 1)).join('')}`;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(text)));
  return align === 'right' ? fill + text : text + fill;
}

/**
 * Lay out `rows` under `columns` within `maxWidth` (null: no limit). Returns the header line and one line per
 * row, trailing spaces trimmed. `bold` paints the header.
 */
export function renderColumns<Row>(rows: Row[], columns: Column<Row>[], maxWidth: number | null, bold: (s: string) => string = (s) => s): string[] {
  let cols = [...columns];
  const natural = (c: Column<Row>): number => Math.max(visibleLength(c.header), ...rows.map((r) => visibleLength(c.text(r))));
  const floor = (c: Column<Row>): number => (c.shrink ? Math.min(natural(c), Math.max(c.shrink.min, visibleLength(c.header))) : natural(c));
  const total = (widths: number[]): number => widths.reduce((a, b) => a + b, 0) + GAP.length * Math.max(0, widths.length - 1);

  // Drop columns (least important first) until the floors fit.
  if (maxWidth !== null) {
    const droppable = cols.filter((c) => c.dropRank !== undefined).sort((a, b) => (a.dropRank ?? 0) - (b.dropRank ?? 0));
    while (total(cols.map(floor)) > maxWidth && droppable.length > 0) {
      const victim = droppable.shift() as Column<Row>;
      cols = cols.filter((c) => c !== victim);
    }
  }
  const laid = cols.map((c) => ({ c, width: natural(c) }));
  if (maxWidth !== null) {
    // Shrink the flexible columns, widest first, one character at a time: first down to their floors; if the
    // table still does not fit (a very narrow terminal), down to their headers.
    const last = (c: Column<Row>): number => Math.min(natural(c), visibleLength(c.header) + 1);
    let excess = total(laid.map((l) => l.width)) - maxWidth;
    for (const limit of [floor, last]) {
      while (excess > 0) {
        const candidates = laid.filter((l) => l.c.shrink && l.width > limit(l.c));
        if (candidates.length === 0) break;
        const widest = candidates.reduce((a, b) => (b.width > a.width ? b : a));
        widest.width--;
        excess--;
      }
    }
  }
  const line = (cells: string[]): string => cells.join(GAP).replace(/\s+$/, '');
  const header = line(laid.map(({ c, width }) => pad(c.header, width, c.align ?? 'left')));
  const body = rows.map((r) =>
    line(
      laid.map(({ c, width }) => {
        const text = c.shrink ? cut(c.text(r), width, c.shrink.from) : c.text(r);
        const padded = pad(text, width, c.align ?? 'left');
        return c.paint ? padded.replace(text, c.paint(r, text)) : padded;
      }),
    ),
  );
  return [bold(header), ...body];
}

/** A word as a POSIX shell would need it quoted to mean itself (`sh -c 'echo hi; exit 7'`). */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
