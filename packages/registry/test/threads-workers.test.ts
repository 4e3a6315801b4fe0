/*
 * Free-threaded runtimes across real workers: every worker attaches to the runtime in a shared
 * memory and gets heaps of its own; blocks cross workers (allocated in one, freed or resized in
 * another) through a shared mailbox. Random programs from fast-check with every byte verified; a
 * worker that abandons and adopts its slot 100 times at a flat footprint; every configuration
 * attached from a worker; a worker that ends without close(); a producer -> consumer pipeline
 * whose every free is remote.
 */
import { HeapKind, HeapSlots, LinearMemory } from "@tsmalloc/memory";
import { ALLOCATOR_CONFIGS, attachRuntime, createRuntime, type Runtime } from "@tsmalloc/registry";
import { firstMessage, runWorkers, startWorker } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CyclesJob, CyclesReport } from "./fixtures/cycles-worker.ts";
import type { DeadWorkerReport } from "./fixtures/ft-dead-worker.ts";
import type { FtAttachJob, FtAttachReport } from "./fixtures/ft-attach-worker.ts";
import type { PipelineJob, PipelineReport } from "./fixtures/ft-pipeline-worker.ts";
import { type Letter, mailbox, take } from "./fixtures/mailbox.ts";
import type { ThreadJob, ThreadOp, ThreadReport } from "./fixtures/threads-worker.ts";
import { CONFIGS, DEBUG_CONFIGS, expectFilled, expectRuntimeOk, NAME_OF } from "./helpers.ts";

const soak = process.env.TSMALLOC_SOAK === "1";
const MiB = 1 << 20;
const hex = (p: number): string => `0x${p.toString(16)}`;

function freeLetter(rt: Runtime, letter: Letter): void {
  if (letter.domain === 0) rt.rawFree(letter.address);
  else if (letter.domain === 1) rt.memFree(letter.address);
  else rt.objFree(letter.address);
}

/** Expects no two live blocks to overlap. */
function expectDisjoint(letters: readonly Letter[]): void {
  const sorted = [...letters].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    if (a.address + Math.max(a.size, 1) > sorted[i]!.address) expect(`${hex(a.address)} (${a.size} bytes) overlaps ${hex(sorted[i]!.address)}`).toBe("disjoint");
  }
}

/**
 * The blocks a worker's slot still holds once everything was freed: the debug hooks' state
 * blocks (made from the heap they wrap), nothing else. Counted on the heap that serves MEM.
 */
function baseline(config: string): number {
  return config === "malloc_debug" ? 3 : DEBUG_CONFIGS.has(config as never) ? 2 : 0;
}

/** The slot table of a free-threaded runtime. */
function slotTable(rt: Runtime): HeapSlots {
  return HeapSlots.attach(rt.memory, rt.memory.u32[(rt.address >>> 2) + 4]!);
}

const domain = fc.integer({ min: 0, max: 2 });
const size = fc.oneof({ weight: 80, arbitrary: fc.integer({ min: 0, max: 600 }) }, { weight: 18, arbitrary: fc.integer({ min: 601, max: 20_000 }) }, { weight: 2, arbitrary: fc.integer({ min: MiB, max: 2 * MiB }) });
const op: fc.Arbitrary<ThreadOp> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ op: fc.constant("malloc" as const), domain, size }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("calloc" as const), domain, size }) },
  { weight: 12, arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant("realloc" as const), pick: fc.nat(), size }) },
  { weight: 20, arbitrary: fc.record({ op: fc.constant("post" as const), pick: fc.nat() }) },
  { weight: 26, arbitrary: fc.record({ op: fc.constant("take" as const), after: fc.constantFrom("free" as const, "realloc" as const, "keep" as const), size }) },
);

describe("free-threaded runtime across workers", () => {
  it(
    "runs fast-check programs in 3 workers at once, blocks crossing workers, every byte verified, check() clean at quiescence",
    { timeout: soak ? 3_600_000 : 240_000 },
    async () => {
      const workers = 3;
      let remote = 0;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...ALLOCATOR_CONFIGS), fc.array(fc.array(op, { minLength: 100, maxLength: soak ? 3000 : 400 }), { minLength: workers, maxLength: workers }), async (config, programs) => {
          const memory = new LinearMemory({ shared: true, maximum: 1024 * MiB });
          const creator = createRuntime({ memory, allocator: config, freeThreading: true });
          const box = mailbox(256);
          const sync = new Int32Array(new SharedArrayBuffer(8));
          const jobs = programs.map((ops, worker): ThreadJob => ({ source: memory.source, worker, workers, ops, box, sync }));
          const reports = await runWorkers<ThreadReport>(new URL("./fixtures/threads-worker.ts", import.meta.url), jobs);
          expect(reports.map((r) => r.error)).toEqual(reports.map(() => null));
          expect(new Set(reports.map((r) => r.slot)).size).toBe(workers);
          remote += reports.reduce((sum, r) => sum + r.remote, 0);
          // what is left: every worker's live blocks and the letters nobody took, all intact and apart
          const left = reports.flatMap((r) => r.live);
          for (let letter = take(box, 0); letter !== null; letter = take(box, 0)) left.push(letter);
          for (const letter of left) expectFilled(memory, letter.address, letter.size, letter.fill);
          expectDisjoint(left);
          expectRuntimeOk(creator);
          // the creator frees them all (into the workers' abandoned heaps), then frees what waits there
          for (const letter of left) freeLetter(creator, letter);
          creator.reclaim();
          expectRuntimeOk(creator);
          // each worker's slot, adopted here, holds nothing but its hooks' state blocks: no block leaked
          const adopters = reports.map(() => attachRuntime(memory));
          expect(adopters.map((rt) => rt.threadSlot).sort()).toEqual(reports.map((r) => r.slot).sort());
          for (const rt of adopters) {
            const heap = rt.pymallocHeap ?? rt.mallocHeap;
            const stats = heap.stats() as { allocatedBlocks: number; rawAllocatedBlocks?: number; remoteFreesPending?: number };
            expect(stats.allocatedBlocks, `${config}: slot ${rt.threadSlot}: ${JSON.stringify({ raw: stats.rawAllocatedBlocks, pending: stats.remoteFreesPending })}`).toBe(baseline(config));
            expect(slotTable(rt).heap(rt.threadSlot, HeapKind.Malloc)).not.toBe(0);
          }
          expect(NAME_OF[config]).toBe(creator.allocatorName());
        }),
        // a failing run is not shrunk: each try starts three workers
        { numRuns: soak ? 60 : 4, endOnFailure: true },
      );
      // the programs freed and resized other workers' blocks
      expect(remote).toBeGreaterThan(0);
    },
  );

  it("keeps the high-water mark flat while a worker abandons and adopts its slot 100 times, the main thread freeing half its blocks", { timeout: 180_000 }, async () => {
    const memory = new LinearMemory({ shared: true, maximum: 1024 * MiB });
    const creator = createRuntime({ memory, freeThreading: true });
    const cycles = 100;
    const box = mailbox(4096);
    const mapped = new Float64Array(new SharedArrayBuffer(8 * cycles));
    const sync = new Int32Array(new SharedArrayBuffer(8));
    const job: CyclesJob = { source: memory.source, cycles, box, mapped, sync };
    const worker = startWorker(new URL("./fixtures/cycles-worker.ts", import.meta.url), job);
    const done = firstMessage<CyclesReport>(worker);
    let freed = 0;
    // each cycle, the main thread frees what the worker handed it (remote frees into its slot)
    for (let cycle = 0; cycle < cycles; cycle++) {
      while (Atomics.load(sync, 0) <= cycle) await new Promise((resolve) => setTimeout(resolve, 1));
      if (Atomics.load(sync, 0) > cycles) break;
      for (let letter = take(box, freed); letter !== null; letter = take(box, freed)) {
        expectFilled(memory, letter.address, letter.size, letter.fill);
        freeLetter(creator, letter);
        freed++;
      }
      Atomics.store(sync, 1, cycle + 1);
      Atomics.notify(sync, 1);
    }
    const report = await done;
    await worker.terminate();
    expect(report.error).toBeNull();
    expect(report.kept).toBe(0);
    expect(new Set(report.slots)).toEqual(new Set([2]));
    expect(freed).toBe(cycles * 150);
    // flat: after the first cycles, no cycle needs more than the first ten did
    const start = Math.max(...mapped.subarray(0, 10));
    expect(Math.max(...mapped.subarray(10))).toBeLessThanOrEqual(start);
    creator.reclaim();
    expectRuntimeOk(creator);
    const adopter = attachRuntime(memory);
    expect(adopter.pymallocHeap!.stats().allocatedBlocks).toBe(0);
  });

  it.each(CONFIGS)("%s: a worker attaches, gets heaps of its own, and frees and resizes the main thread's blocks in every domain", async (config) => {
    const memory = new LinearMemory({ shared: true, maximum: 512 * MiB });
    const creator = createRuntime({ memory, allocator: config, freeThreading: true });
    const make = (domain: number, fill: number): Letter => {
      const n = [24, 300, 900][domain]!;
      const p = domain === 0 ? creator.rawMalloc(n) : domain === 1 ? creator.memMalloc(n) : creator.objMalloc(n);
      memory.u8.fill(fill, p, p + n);
      return { address: p, size: n, fill, domain };
    };
    const job: FtAttachJob = { source: memory.source, toFree: [0, 1, 2].map((d) => make(d, 0xf1)), toResize: [0, 1, 2].map((d) => make(d, 0xf2)) };
    const [report] = await runWorkers<FtAttachReport>(new URL("./fixtures/ft-attach-worker.ts", import.meta.url), [job]);
    expect(report!.error).toBeNull();
    expect(report!).toMatchObject({ config, freeThreading: true, allocatorName: NAME_OF[config], slot: 2 });
    if (DEBUG_CONFIGS.has(config)) expect(report!.overflow).toMatch(/^ERR_TSMALLOC_CORRUPTION debugRawFree: .*bad trailing pad byte/);
    else expect(report!.overflow).toBeNull();
    for (const letter of report!.live) expectFilled(memory, letter.address, letter.size, letter.fill);
    expectDisjoint(report!.live);
    expect(report!.live.every((letter) => slotTable(creator).slotOf(letter.address) === 2)).toBe(true);
    for (const letter of report!.live) freeLetter(creator, letter);
    creator.reclaim();
    expectRuntimeOk(creator);
    const adopter = attachRuntime(memory);
    expect(adopter.threadSlot).toBe(2);
    expect((adopter.pymallocHeap ?? adopter.mallocHeap).stats().allocatedBlocks).toBe(baseline(config));
  });

  it("lets the creator abandon the slot of a worker that ended without close(), after its exit: the next thread adopts its heaps", { timeout: 60_000 }, async () => {
    const memory = new LinearMemory({ shared: true, maximum: 256 * MiB });
    const creator = createRuntime({ memory, freeThreading: true });
    const worker = startWorker(new URL("./fixtures/ft-dead-worker.ts", import.meta.url), memory.source);
    const report = await firstMessage<DeadWorkerReport>(worker);
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    await worker.terminate();
    await exited;
    creator.abandonThread(report.slot);
    const next = attachRuntime(memory);
    expect(next.threadSlot).toBe(report.slot);
    for (const p of report.blocks) {
      expectFilled(memory, p, 64, 0x44);
      next.objFree(p);
    }
    expect(next.pymallocHeap!.stats().allocatedBlocks).toBe(0);
    expectRuntimeOk(creator);
  });

  it.each(["default", "malloc"])("%s: runs a producer -> consumer pipeline between two workers, every free remote, at a flat footprint", { timeout: 120_000 }, async (config) => {
    const memory = new LinearMemory({ shared: true, maximum: 512 * MiB });
    const creator = createRuntime({ memory, allocator: config, freeThreading: true });
    const blocks = soak ? 2_000_000 : 200_000;
    const sample = 10_000;
    const ring = new Int32Array(new SharedArrayBuffer(4 * (2 + 4096)));
    const mapped = new Float64Array(new SharedArrayBuffer(8 * (blocks / sample)));
    const jobs = (["producer", "consumer"] as const).map((role): PipelineJob => ({ source: memory.source, role, blocks, ring, mapped, sample }));
    const reports = await runWorkers<PipelineReport>(new URL("./fixtures/ft-pipeline-worker.ts", import.meta.url), jobs);
    expect(reports.map((r) => r.error)).toEqual([null, null]);
    // flat: the ring holds at most 4,096 blocks in flight, so the footprint stops growing once
    // they are out (a heap that never got its blocks back would need 50 MiB for 200,000 of them);
    // how many wait to be drained depends on the scheduling, hence an arena's and a segment's slack
    const samples = [...mapped];
    const early = Math.max(...samples.slice(0, samples.length / 2));
    expect(Math.max(...samples.slice(samples.length / 2))).toBeLessThanOrEqual(early + 2 * MiB);
    expect(Math.max(...samples)).toBeLessThan(16 * MiB);
    creator.reclaim();
    expectRuntimeOk(creator);
    const producer = attachRuntime(memory);
    const consumer = attachRuntime(memory);
    const heaps = [producer, consumer].map((rt) => rt.pymallocHeap ?? rt.mallocHeap);
    expect(heaps[0]!.stats().allocatedBlocks + heaps[1]!.stats().allocatedBlocks).toBe(0);
  });
});
