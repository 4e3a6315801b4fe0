import type { Runtime } from "@tsmalloc/registry";
import { formatCount as count, formatCounted as counted } from "@tsmalloc/trace/browser";

/**
 * The statistics the page shows: pymalloc's table exactly as `sys._debugmallocstats()` prints it
 * (`runtime.debugMallocStats()`), or lines saying the configuration has no pymalloc. Every line the
 * page adds is at most about 60 characters, so that the statistics box (520 CSS pixels at most)
 * never scrolls sideways; pymalloc's own lines are at most 57.
 */
export function pymallocStatsText(runtime: Runtime): string {
  const table = runtime.debugMallocStats();
  return table === "" ? `pymalloc is not in this configuration (${runtime.config}):\nthe system malloc serves every domain.\n` : table;
}

/** The system malloc's figures (CPython leaves these to the C library), one per line. */
export function mallocStatsText(runtime: Runtime): string {
  const m = runtime.mallocHeap.stats();
  const serves = runtime.pymallocHeap === null ? "every domain" : "RAW, and pymalloc's requests over 512 bytes";
  return [
    `system malloc (${serves}):`,
    `  ${counted(m.allocatedBlocks, "block")} in use, ${count(m.allocatedBytes)} bytes usable`,
    `  ${counted(m.segments, "segment")} of ${count(m.segmentBytes)} bytes`,
    `  ${counted(m.freeBlocks, "free block")}, ${count(m.freeBytes)} bytes; the largest ${count(m.largestFreeBlock)}`,
    `  ${counted(m.largeBlocks, "large block")} in regions of their own, ${count(m.largeBytes)} bytes`,
    `  ${count(m.mappedBytes)} bytes mapped, ${count(m.overheadBytes)} in headers and rounding`,
    "",
  ].join("\n");
}
