/*
 * Real allocation traces through the hooks (testkit's bundled traces, contents verified): no
 * block of a well-behaved program is ever reported, realloc keeps what it must, and the heap
 * under the hooks stays valid.
 */
import { withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { bundledTracePath, loadTrace, OP_FREE, replayVerified } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { expectHeapOk } from "./helpers.ts";

describe("trace replay through the hooks", () => {
  it("replays the first 300,000 events of gcc_cc1_wrapt with serial numbers on", { timeout: 120_000 }, () => {
    const trace = loadTrace(bundledTracePath("gcc_cc1_wrapt"), 300_000);
    const heap = new Malloc(new LinearMemory());
    const hooks = withDebugHooks(heap, { api: "m", serialNumbers: true });
    const result = replayVerified(trace, hooks, { every: 100_000, checkpoint: () => expectHeapOk(heap), release: true });
    expect(result.events).toBe(300_000);
    expect(result.failures).toBe(0);
    expect(heap.stats().allocatedBlocks).toBe(1);
    // every malloc, calloc and realloc drew one serial number: the next one is one more
    const allocations = trace.op.subarray(0, 300_000).filter((op) => op !== OP_FREE).length;
    const p = hooks.malloc(0);
    expect(Number(hooks.memory.dataView.getBigUint64(p + 8, false))).toBe(allocations + 1);
  });

  it("replays the whole py_compileall trace", { timeout: 120_000 }, () => {
    const trace = loadTrace(bundledTracePath("py_compileall"));
    const heap = new Malloc(new LinearMemory());
    const hooks = withDebugHooks(heap, { api: "o" });
    const result = replayVerified(trace, hooks, { release: true });
    expect(result.failures).toBe(0);
    expect(heap.stats().allocatedBlocks).toBe(1);
    expectHeapOk(heap);
  });
});
