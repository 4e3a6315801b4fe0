/*
 * Four workers share one heap on a shared memory, allocating, resizing and freeing at once
 * (large blocks included, so that regions are mapped and unmapped concurrently). Each fills its
 * blocks with its own bytes and checks them; the main thread then checks every surviving block,
 * the heap, and the block count, and frees everything.
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { findMismatch, runWorkers } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import type { WorkerJob, WorkerReport } from "./fixtures/worker.ts";
import { expectHeapOk } from "./helpers.ts";

const WORKERS = 4;
const soak = process.env.TSMALLOC_SOAK === "1";
const OPERATIONS = soak ? 200_000 : 20_000;

describe("concurrent workers on one shared heap", () => {
  it("keep every block intact and the heap valid", { timeout: soak ? 1_800_000 : 120_000 }, async () => {
    const memory = new LinearMemory({ shared: true });
    expect(memory.shared).toBe(true);
    const heap = new Malloc(memory);
    const jobs = Array.from({ length: WORKERS }, (_, worker): WorkerJob => ({ source: memory.source, worker, operations: OPERATIONS, seed: 1000 + worker }));
    const reports = await runWorkers<WorkerReport>(new URL("./fixtures/worker.ts", import.meta.url), jobs);
    expect(reports.map((r) => r.worker).sort()).toEqual([0, 1, 2, 3]);
    for (const report of reports) {
      // each worker did every kind of call, large blocks included
      expect(report.large).toBeGreaterThan(0);
      expect(report.memaligned).toBeGreaterThan(0);
      expect(report.reallocated).toBeGreaterThan(0);
    }
    const live = reports.flatMap((r) => r.live);
    expect(new Set(live.map(([p]) => p)).size).toBe(live.length);
    for (const [p, n, fill] of live) {
      const at = findMismatch(memory.u8, p, n, fill);
      expect(at < 0 ? "intact" : `0x${p.toString(16)} overwritten at +${at - p}`).toBe("intact");
    }
    expectHeapOk(heap);
    expect(heap.stats().allocatedBlocks).toBe(live.length);
    for (const [p] of live) heap.free(p);
    expect(heap.stats().allocatedBlocks).toBe(0);
    expect(heap.stats().largeBlocks).toBe(0);
    expectHeapOk(heap);
  });
});
