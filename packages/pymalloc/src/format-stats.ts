import type { PymallocStats } from "./stats.ts";

/**
 * CPython's `printone`: the label padded to column 35, `=`, then the value right-aligned in 21
 * characters with `,` between thousands.
 */
export function formatStatsLine(label: string, value: number): string {
  const digits = Math.trunc(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${label.padEnd(35)}=${digits.padStart(21)}\n`;
}

/**
 * The text `sys._debugmallocstats()` prints for pymalloc, line for line: the threshold line, the
 * class table (classes with pools in use), the arena counters, the byte accounting and its
 * `Total`, and the arena map's cost (as CPython builds without interior radix nodes print it: one
 * flat table).
 *
 * @example
 * ```text
 * Small block threshold = 512, in 32 size classes.
 *
 * class   size   num pools   blocks in use  avail blocks
 * -----   ----   ---------   -------------  ------------
 *     1     32           1               1           509
 *
 * # arenas allocated total           =                    1
 * ...
 * ```
 */
export function formatStats(stats: PymallocStats): string {
  let out = `Small block threshold = ${stats.smallRequestThreshold}, in ${stats.numClasses} size classes.\n`;
  out += "\n";
  out += "class   size   num pools   blocks in use  avail blocks\n";
  out += "-----   ----   ---------   -------------  ------------\n";
  for (const c of stats.classes) {
    out += `${String(c.index).padStart(5)} ${String(c.size).padStart(6)} ${String(c.pools).padStart(11)} ${String(c.blocksInUse).padStart(15)} ${String(c.availableBlocks).padStart(13)}\n`;
  }
  out += "\n";
  out += formatStatsLine("# arenas allocated total", stats.arenasAllocatedTotal);
  out += formatStatsLine("# arenas reclaimed", stats.arenasReclaimed);
  out += formatStatsLine("# arenas highwater mark", stats.arenasHighwaterMark);
  out += formatStatsLine("# arenas allocated current", stats.arenasAllocatedCurrent);
  out += formatStatsLine(`${stats.arenasAllocatedCurrent} arenas * ${stats.arenaSize} bytes/arena`, stats.arenasAllocatedCurrent * stats.arenaSize);
  out += "\n";
  out += formatStatsLine("# bytes in allocated blocks", stats.bytesInAllocatedBlocks);
  out += formatStatsLine("# bytes in available blocks", stats.bytesInAvailableBlocks);
  out += formatStatsLine(`${stats.unusedPools} unused pools * ${stats.poolSize} bytes`, stats.unusedPools * stats.poolSize);
  out += formatStatsLine("# bytes lost to pool headers", stats.bytesLostToPoolHeaders);
  out += formatStatsLine("# bytes lost to quantization", stats.bytesLostToQuantization);
  out += formatStatsLine("# bytes lost to arena alignment", stats.bytesLostToArenaAlignment);
  out += formatStatsLine("Total", stats.total);
  out += "\narena map counts\n";
  out += formatStatsLine("# bytes lost to arena map root", stats.bytesLostToArenaMapRoot);
  // free-threading: blocks other threads freed that the heap has not put back yet (counted in use)
  if (stats.remoteFreesPending !== 0) out += formatStatsLine("# blocks freed by other threads", stats.remoteFreesPending);
  return out;
}
