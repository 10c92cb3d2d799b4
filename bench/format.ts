/** How figures are printed: rounded, grouped by thousands, with their target and whether it is met. */
export function count(value: number): string {
  return Math.round(value).toLocaleString("en");
}

export function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

export function seconds(value: number): string {
  return `${value.toFixed(2)} s`;
}

/** Three decimals, so a ratio just under its target never prints as the target itself. */
export function ratio(value: number): string {
  return value.toFixed(3);
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** `[target ≥ 50,000: met]` — the target next to the figure, so a reader never has to look it up. */
export function target({ text, met }: { text: string; met: boolean }): string {
  return `[target ${text}: ${met ? "met" : "MISSED"}]`;
}

export function heading(text: string): void {
  console.log(`\n== ${text}`);
}

/** Rows of cells, each column padded to its widest cell. */
export function table(rows: string[][]): void {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  for (const row of rows) {
    const cells = row.map((cell, i) => cell.padEnd(widths[i] ?? 0));
    console.log(`  ${cells.join("  ").trimEnd()}`);
  }
}
