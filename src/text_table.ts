/**
 * The CLI's plain-text tables (bench, variants, peers, conformance summary, Metal bench):
 * the header, a rule of dashes, then the rows, every cell padded to its column's width and
 * columns two spaces apart. Returns the lines, so a caller can append notes under them.
 */
export function textTable(head: readonly string[], body: readonly (readonly string[])[], o: { trimEnd?: boolean } = {}): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: readonly string[]) => {
    const s = cells.map((c, i) => c.padEnd(w[i])).join('  ');
    return o.trimEnd ? s.trimEnd() : s;
  };
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)];
}

/** x with `digits` decimals, or '-' when it is missing or not finite. */
export function fixed(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}
