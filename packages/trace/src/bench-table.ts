/*
 * The benchmark harness's results as a table: one row per case, one column per contender, each
 * cell the median and its ratio to the first column.
 */
import type { BenchCase, BenchCell } from "./bench-harness.ts";
import { formatNanoseconds, formatRatio } from "./format.ts";

/**
 * The table of {@link formatBenchTable} as cells of text: a header row (`workload`, `unit`, then
 * the contenders), then one row per case. A cell reads `median (ratio×)`, with `[n NULL]` when
 * requests failed, or the contender's status (`over budget`, `unavailable`, `failed`), or `-`
 * when there is no cell.
 */
export function benchTableRows(cells: readonly BenchCell[], cases: readonly BenchCase[], contenders: readonly string[]): string[][] {
  const unit = (c: BenchCase): string => (c.workload.kind === "churn" ? "ns/pair" : "ns/event");
  const rows = [["workload", "unit", ...contenders]];
  for (const benchCase of cases) {
    const row = cells.filter((c) => c.case === benchCase.name);
    const base = row.find((c) => c.contender === contenders[0])?.median ?? null;
    const columns = contenders.map((name) => {
      const cell = row.find((c) => c.contender === name);
      if (cell === undefined || cell.median === null) return cell?.status ?? "-";
      const ratio = base === null ? "" : ` (${formatRatio(cell.median / base)})`;
      return `${formatNanoseconds(cell.median)}${ratio}${cell.failures > 0 ? ` [${cell.failures} NULL]` : ""}`;
    });
    rows.push([benchCase.name, unit(benchCase), ...columns]);
  }
  return rows;
}

/** The cells as a Markdown table: one row per case, one column per contender. */
export function formatBenchTable(cells: readonly BenchCell[], cases: readonly BenchCase[], contenders: readonly string[]): string {
  const [header, ...rows] = benchTableRows(cells, cases, contenders);
  const lines = [`| ${header!.join(" | ")} |`, `|---|---|${contenders.map(() => "---:").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}
