/*
 * Tables as the command prints them: plain-text tables whose columns line up, and label / value
 * lines. The figures in them (counts, bytes, times, ratios) are formatted by @tsmalloc/trace's
 * format* functions, which the visualizer uses too.
 */

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

/** `text` broken into lines of at most `width` characters, at spaces (a longer word stays whole). */
export function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines.join("\n");
}

/** Label-value lines with the values lined up: `label   value`. */
export function fields(entries: readonly (readonly [string, string])[], indent: string = "  "): string {
  const width = Math.max(...entries.map(([label]) => label.length));
  return entries.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join("\n");
}

/**
 * A measured figure for `--json`, rounded to `decimals` decimals (a time measured on a shared
 * machine has no more to say than that): `roundTo(14566.99999994271, 1)` is 14567. null stays null.
 */
export function roundTo(value: number, decimals: number): number;
export function roundTo(value: number | null, decimals: number): number | null;
export function roundTo(value: number | null, decimals: number): number | null {
  if (value === null) return null;
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}
