/*
 * Replays of real allocation traces (testkit's bundled traces), with every block's contents
 * verified before it is freed or moved and at the end.
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { bundledTraceMeta, bundledTracePath, loadTrace, replayVerified } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { expectHeapOk } from "./helpers.ts";

describe("trace replay", () => {
  it("replays the first 300,000 events of gcc_cc1_wrapt", { timeout: 120_000 }, () => {
    const trace = loadTrace(bundledTracePath("gcc_cc1_wrapt"), 300_000);
    expect(trace.length).toBe(300_000);
    const heap = new Malloc(new LinearMemory());
    const checkpoints: number[] = [];
    const result = replayVerified(trace, heap, {
      every: 50_000,
      checkpoint: (event) => {
        checkpoints.push(event);
        expectHeapOk(heap);
      },
      release: true,
    });
    expect(result.events).toBe(300_000);
    expect(result.failures).toBe(0);
    expect(result.liveBlocks).toBeGreaterThan(0);
    // every 50,000 events, the last of them once, at the end (after the release)
    expect(checkpoints).toEqual([50_000, 100_000, 150_000, 200_000, 250_000, 300_000]);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });

  it("replays the whole py_compileall trace", { timeout: 120_000 }, () => {
    const trace = loadTrace(bundledTracePath("py_compileall"));
    expect(trace.length).toBe(bundledTraceMeta("py_compileall").events);
    const heap = new Malloc(new LinearMemory());
    let checks = 0;
    const result = replayVerified(trace, heap, {
      every: 100_000,
      checkpoint: () => {
        checks++;
        expectHeapOk(heap);
      },
      footprint: () => heap.stats().mappedBytes,
      release: true,
    });
    expect(result.failures).toBe(0);
    expect(result.peakLiveBlocks).toBe(bundledTraceMeta("py_compileall").peak_live_blocks);
    expect(result.peakFootprint).toBeGreaterThanOrEqual(result.peakLiveBytes);
    expect(checks).toBe(10);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expectHeapOk(heap);
  });
});
