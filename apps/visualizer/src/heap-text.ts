import type { Runtime } from "@tsmalloc/registry";
import { formatCount as count, formatCounted as counted } from "@tsmalloc/trace/browser";

/**
 * The statistics the page shows: pymalloc's table exactly as `sys._debugmallocstats()` prints it
 * (`runtime.debugMallocStats()`), or a line saying the configuration has no pymalloc.
 */
export function pymallocStatsText(runtime: Runtime): string {
  const table = runtime.debugMallocStats();
  return table === "" ? `pymalloc is not in this configuration (${runtime.config}): the system malloc serves every domain.\n` : table;
}

/** The system malloc's figures (CPython leaves these to the C library), one per line. */
export function mallocStatsText(runtime: Runtime): string {
  const m = runtime.mallocHeap.stats();
  const serves = runtime.pymallocHeap === null ? "every domain" : "the RAW domain, with pymalloc's requests over 512 bytes";
  return [
    `system malloc (${serves}):`,
    `  ${counted(m.allocatedBlocks, "block")} in use, ${count(m.allocatedBytes)} bytes usable`,
    `  ${counted(m.segments, "segment")} of ${count(m.segmentBytes)} bytes: ${counted(m.freeBlocks, "free block")}, ${count(m.freeBytes)} bytes free, the largest ${count(m.largestFreeBlock)}`,
    `  ${counted(m.largeBlocks, "large block")} in regions of their own, ${count(m.largeBytes)} bytes`,
    `  ${count(m.mappedBytes)} bytes mapped, ${count(m.overheadBytes)} of them headers and rounding`,
    "",
  ].join("\n");
}
