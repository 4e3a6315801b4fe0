/* The statistics texts (src/heap-text.ts): pymalloc's table as the runtime prints it, the system malloc's figures line by line. */
import { ALLOCATOR_CONFIGS, type AllocatorConfig, createRuntime, type Runtime } from "@tsmalloc/registry";
import { describe, expect, it } from "vitest";
import { mallocStatsText, pymallocStatsText } from "../src/heap-text.ts";

/** An integer with a comma every three digits, worked out by hand. */
const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+$)/g, ",");
const plural = (n: number): string => (n === 1 ? "" : "s");

/** A runtime holding a few small and large MEM blocks and a freed one. */
function busy(config: AllocatorConfig): Runtime {
  const runtime = createRuntime({ allocator: config });
  for (const size of [1, 16, 100, 512, 513, 4000, 300_000, 1_500_000]) runtime.memMalloc(size);
  runtime.memFree(runtime.memMalloc(2000));
  return runtime;
}

describe.each(ALLOCATOR_CONFIGS)("%s", (config) => {
  const hasPymalloc = !config.startsWith("malloc");

  it("pymallocStatsText: the runtime's table, or a line saying there is no pymalloc", () => {
    const runtime = busy(config);
    const text = pymallocStatsText(runtime);
    if (hasPymalloc) {
      expect(text).toBe(runtime.pymallocHeap!.formatStats());
      expect(text).toBe(runtime.debugMallocStats());
      expect(text).toMatch(/^Small block threshold = 512, in 32 size classes\.\n/);
    } else {
      expect(runtime.pymallocHeap).toBeNull();
      expect(text).toBe(`pymalloc is not in this configuration (${config}):\nthe system malloc serves every domain.\n`);
    }
  });

  it("the lines the page adds fit the statistics box: 61 characters at most, with a heap of a GiB", () => {
    const runtime = busy(config);
    runtime.memMalloc(1 << 30);
    for (const line of `${pymallocStatsText(runtime)}${mallocStatsText(runtime)}`.split("\n")) expect(line.length, line).toBeLessThanOrEqual(61);
  });

  it("mallocStatsText: malloc's figures, one per line", () => {
    const runtime = busy(config);
    const m = runtime.mallocHeap.stats();
    expect(m.largeBlocks).toBeGreaterThan(0);
    expect(mallocStatsText(runtime)).toBe(
      `system malloc (${hasPymalloc ? "RAW, and pymalloc's requests over 512 bytes" : "every domain"}):\n` +
        `  ${thousands(m.allocatedBlocks)} block${plural(m.allocatedBlocks)} in use, ${thousands(m.allocatedBytes)} bytes usable\n` +
        `  ${thousands(m.segments)} segment${plural(m.segments)} of ${thousands(m.segmentBytes)} bytes\n` +
        `  ${thousands(m.freeBlocks)} free block${plural(m.freeBlocks)}, ${thousands(m.freeBytes)} bytes; the largest ${thousands(m.largestFreeBlock)}\n` +
        `  ${thousands(m.largeBlocks)} large block${plural(m.largeBlocks)} in regions of their own, ${thousands(m.largeBytes)} bytes\n` +
        `  ${thousands(m.mappedBytes)} bytes mapped, ${thousands(m.overheadBytes)} in headers and rounding\n`,
    );
  });
});
