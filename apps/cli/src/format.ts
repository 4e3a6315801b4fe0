/*
 * Numbers and tables as the command prints them: counts with thousands separators, byte sizes
 * with their binary unit beside the exact count, and plain-text tables whose columns line up.
 */

/** `1234567` → `"1,234,567"`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** `"1 arena"`, `"6 arenas"`: a count and its noun, plural unless the count is 1. */
export function counted(n: number, noun: string, plural: string = `${noun}s`): string {
  return `${count(n)} ${n === 1 ? noun : plural}`;
}

/** A byte count in its largest binary unit: `"512 B"`, `"1.5 KiB"`, `"10.8 MiB"`, `"1.0 GiB"`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  // the unit is chosen after rounding, so that 1,048,575 B reads 1.0 MiB, not 1024.0 KiB
  if (n < 1023.95 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1023.95 * (1 << 20)) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(1)} GiB`;
}

/** `"11,323,148 B (10.8 MiB)"`: the exact count, and the size a reader takes in at a glance. */
export function exactBytes(n: number): string {
  return n < 1024 ? `${n} B` : `${count(n)} B (${bytes(n)})`;
}

/** Nanoseconds per unit, one decimal below 100, none above. */
export function nanoseconds(ns: number): string {
  return ns >= 99.95 ? ns.toFixed(0) : ns.toFixed(1);
}

/** Milliseconds, whole above 10, one decimal below. */
export function milliseconds(ms: number): string {
  return ms >= 9.95 ? ms.toFixed(0) : ms.toFixed(1);
}

/**
 * A plain-text table: the first row is the header, underlined with dashes; the first `left`
 * columns are aligned left, the others right (numbers).
 */
export function textTable(rows: readonly (readonly string[])[], left: number = 1): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const [header, ...body] = rows;
  if (header === undefined) return "";
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** Label-value lines with the values lined up: `label   value`. */
export function fields(entries: readonly (readonly [string, string])[], indent: string = "  "): string {
  const width = Math.max(...entries.map(([label]) => label.length));
  return entries.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join("\n");
}
