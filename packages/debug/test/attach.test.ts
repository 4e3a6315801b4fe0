/*
 * Hooks opened with DebugAllocator.attach: in the same thread (a second handle on the same
 * state), and RAW hooks in several workers at once on a shared memory, where the serial counter
 * in the memory hands every block its own number.
 */
import { DebugAllocator, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { firstMessage, startWorker } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import type { RawJob, RawReport } from "./fixtures/raw-worker.ts";
import { expectBlock, expectFilled, expectHeapOk, hooked } from "./helpers.ts";

describe("DebugAllocator.attach", () => {
  it("opens the same hooks: API id and serial numbers from the state block, the rest chosen anew", () => {
    const { heap, hooks } = hooked({ api: "o", serialNumbers: true });
    const other = DebugAllocator.attach(Malloc.attach(heap.memory), hooks.stateAddress, { tracebacks: 2 });
    expect(other.api).toBe("o");
    expect(other.serialNumbers).toBe(true);
    expect(other.tracebacks).toBe(2);
    expect(other.stateAddress).toBe(hooks.stateAddress);
    expect(other.name).toBe("malloc_debug");
    const p = hooks.malloc(10);
    const q = other.realloc(p, 20);
    expectBlock(heap.memory, q, 20, "o");
    expect(other.allocationTraceback(q)).toHaveLength(2);
    hooks.free(q);
    expect(heap.stats().allocatedBlocks).toBe(1);
  });

  it("changes nothing in the memory", () => {
    const { heap, hooks } = hooked({ api: "m" });
    const before = heap.memory.u8.slice();
    DebugAllocator.attach(heap, hooks.stateAddress);
    expect(Buffer.compare(heap.memory.u8, before)).toBe(0);
  });

  it("lets RAW hooks in several workers share one heap and one serial counter", { timeout: 120_000 }, async () => {
    const memory = new LinearMemory({ shared: true });
    const heap = new Malloc(memory);
    const hooks = withDebugHooks(heap, { serialNumbers: true });
    const WORKERS = 3;
    const OPERATIONS = 3000;
    const workers = Array.from({ length: WORKERS }, (_, i) => {
      const job: RawJob = { source: memory.source, state: hooks.stateAddress, operations: OPERATIONS, seed: 100 + i };
      return startWorker(new URL("./fixtures/raw-worker.ts", import.meta.url), job);
    });
    // the main thread allocates at the same time
    const mine: number[] = [];
    for (let i = 0; i < 500; i++) mine.push(hooks.malloc(i % 50));
    let reports: RawReport[];
    try {
      reports = await Promise.all(workers.map((w) => firstMessage<RawReport>(w)));
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
    const serials = [...reports.flatMap((r) => r.serials), ...mine.map((p, i) => Number(memory.dataView.getBigUint64(p + (i % 50) + 8, false)))];
    // every block got its own number, and none was skipped
    expect(new Set(serials).size).toBe(serials.length);
    expect(Math.max(...serials)).toBe(serials.length);
    for (const [p, n, fill] of reports.flatMap((r) => r.live)) {
      expectBlock(memory, p, n, "r");
      expectFilled(memory, p, n, fill);
      hooks.free(p);
    }
    for (const p of mine) hooks.free(p);
    expect(heap.stats().allocatedBlocks).toBe(1);
    expectHeapOk(heap);
  });
});
