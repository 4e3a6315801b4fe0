/*
 * Free-threaded runtimes (createRuntime({ freeThreading: true })) within one thread: several
 * runtimes attached in this thread stand in for the threads (each holds a heap slot of its own,
 * exactly as a worker's would). What needs real workers is in threads-workers.test.ts.
 */
import { DebugCorruptionError, isDebugAllocator } from "@tsmalloc/debug";
import { ErrorCode, HeapKind, HeapSlots, HeapSlotState, LinearMemory, MAX_HEAP_SLOTS, PAGE_SIZE } from "@tsmalloc/memory";
import { regionArenaAllocator } from "@tsmalloc/pymalloc";
import { attachRuntime, createRuntime, Domain, DOMAINS, type Runtime, type RuntimeOptions } from "@tsmalloc/registry";
import { describe, expect, it } from "vitest";
import { CONFIGS, corruption, DEBUG_CONFIGS, entryPoints, expectError, expectFilled, expectRuntimeOk, fill, NAME_OF, RecordingHook } from "./helpers.ts";

const MiB = 1 << 20;

function sharedMemory(maximum = 512 * MiB): LinearMemory {
  return new LinearMemory({ shared: true, maximum });
}

/** A free-threaded runtime and `others` more threads attached to it (in this thread). */
function threaded(allocator: string, others = 1, options: RuntimeOptions = {}): { memory: LinearMemory; creator: Runtime; threads: Runtime[] } {
  const memory = sharedMemory();
  const creator = createRuntime({ ...options, memory, allocator, freeThreading: true });
  const threads = Array.from({ length: others }, () => attachRuntime(LinearMemory.attach(memory.source)));
  return { memory, creator, threads };
}

/** The table of the runtime's heap slots. */
function slotTable(runtime: Runtime): HeapSlots {
  return HeapSlots.attach(runtime.memory, runtime.memory.u32[(runtime.address >>> 2) + 4]!);
}

describe.each(CONFIGS)("a free-threaded runtime, configuration %s", (config) => {
  it("gives each thread heaps of its own, made on its first call, and keeps allocatorName()", () => {
    const { memory, creator, threads } = threaded(config, 2);
    const [b, c] = threads as [Runtime, Runtime];
    const table = slotTable(creator);
    expect(creator.freeThreading).toBe(true);
    expect([creator.threadSlot, b.threadSlot, c.threadSlot]).toEqual([1, 2, 3]);
    expect(table.heap(1, HeapKind.Malloc)).not.toBe(0);
    // attached threads hold a slot but make their heaps on their first call
    expect(table.heap(2, HeapKind.Malloc)).toBe(0);
    for (const rt of [creator, b, c]) expect(rt.allocatorName()).toBe(NAME_OF[config]);
    const p = b.objMalloc(24);
    expect(table.heap(2, HeapKind.Malloc)).not.toBe(0);
    expect(table.heap(2, HeapKind.Pymalloc) !== 0).toBe(config !== "malloc" && config !== "malloc_debug");
    expect(table.slotOf(p)).toBe(2);
    expect(table.heap(3, HeapKind.Malloc)).toBe(0);
    expect(b.mallocHeap.heapSlot).toBe(2);
    expect(b.pymallocHeap?.heapSlot ?? null).toBe(config.startsWith("malloc") ? null : 2);
    for (const rt of [creator, b, c]) expect(rt.allocatorName()).toBe(NAME_OF[config]);
    expect(b.getAllocator(Domain.MEM).name).toBe(creator.getAllocator(Domain.MEM).name);
    b.objFree(p);
    expect(memory.shared).toBe(true);
    expectRuntimeOk(creator);
  });

  it("lets any thread free or resize any thread's blocks in every domain, and keeps every byte", () => {
    const { memory, creator, threads } = threaded(config, 2);
    const all = [creator, ...threads];
    const live: { p: number; n: number; fill: number; domain: Domain }[] = [];
    let fillByte = 1;
    for (let round = 0; round < 300; round++) {
      for (const [i, rt] of all.entries()) {
        const domain = DOMAINS[(round + i) % 3]!;
        const n = [0, 1, 8, 24, 100, 511, 512, 513, 2000, 70_000][(round * 7 + i) % 10]!;
        const p = entryPoints(rt, domain).malloc(n);
        expect(p).not.toBe(0);
        fill(memory, p, n, fillByte);
        live.push({ p, n, fill: fillByte, domain });
        fillByte = (fillByte % 250) + 1;
      }
      // another thread frees or resizes one block (of the same domain, as CPython requires)
      const pick = live.splice((round * 13) % live.length, 1)[0]!;
      const by = all[(round + 1) % all.length]!;
      expectFilled(memory, pick.p, pick.n, pick.fill);
      if (round % 3 === 0) {
        const m = (round * 31) % 3000;
        const q = entryPoints(by, pick.domain).realloc(pick.p, m);
        expect(q).not.toBe(0);
        expectFilled(memory, q, Math.min(pick.n, m), pick.fill);
        fill(memory, q, m, pick.fill);
        live.push({ ...pick, p: q, n: m });
      } else {
        entryPoints(by, pick.domain).free(pick.p);
      }
    }
    for (const block of live) expectFilled(memory, block.p, block.n, block.fill);
    expectRuntimeOk(creator);
    for (const [i, block] of live.entries()) entryPoints(all[i % all.length]!, block.domain).free(block.p);
    for (const rt of all) rt.reclaim();
    expectRuntimeOk(creator);
    // every block is back: the heaps hold only what the runtimes themselves made
    const slots = slotTable(creator);
    for (let slot = 1; slot <= 3; slot++) {
      const pymallocState = slots.heap(slot, HeapKind.Pymalloc);
      if (pymallocState !== 0) expect(all[slot - 1]!.pymallocHeap!.stats().remoteFreesPending).toBe(0);
    }
  });

  it("adopts an abandoned slot's heaps, live blocks and remote-free list included, when a thread attaches after another closed", () => {
    const { memory, creator, threads } = threaded(config, 1);
    const [b] = threads as [Runtime];
    const kept = b.memMalloc(300);
    fill(memory, kept, 300, 0x3c);
    const freedLater = b.objMalloc(64);
    const slot = b.threadSlot;
    b.close();
    expect(b.threadSlot).toBe(0);
    expect(slotTable(creator).state(slot)).toBe(HeapSlotState.Abandoned);
    creator.objFree(freedLater); // into the abandoned heap's remote-free list
    const c = attachRuntime(LinearMemory.attach(memory.source));
    expect(c.threadSlot).toBe(slot);
    expectFilled(memory, kept, 300, 0x3c);
    c.memFree(kept); // now c's own block
    expect(c.allocatorName()).toBe(NAME_OF[config]);
    expectRuntimeOk(creator);
    c.close();
  });

});

describe.each([...DEBUG_CONFIGS])("a free-threaded runtime under debug hooks, configuration %s", (config) => {
  it("runs the debug hooks in every thread: any thread frees any thread's block, and each thread's hooks report an overflow", () => {
    const { memory, creator, threads } = threaded(config, 1);
    const [b] = threads as [Runtime];
    // b's domains are its fronts until its first call, then its own slot's hooks
    for (const domain of DOMAINS) expect(isDebugAllocator(b.getAllocator(domain))).toBe(false);
    for (const domain of DOMAINS) {
      const p = entryPoints(creator, domain).malloc(16);
      entryPoints(b, domain).free(p);
      expect(isDebugAllocator(b.getAllocator(domain))).toBe(true);
      const q = entryPoints(b, domain).malloc(16);
      memory.u8[q + 16] = 0x78;
      const report = corruption(() => entryPoints(creator, domain).free(q));
      expect(report).toBeInstanceOf(DebugCorruptionError);
      expect(report.message).toContain("bad trailing pad byte");
      memory.u8[q + 16] = 0xfd;
      entryPoints(creator, domain).free(q);
    }
    // a MEM block freed through OBJ is a bad API id, whichever thread made it
    const m = b.memMalloc(10);
    expect(corruption(() => creator.objFree(m)).message).toContain("bad ID");
    b.memFree(m);
    expectRuntimeOk(creator);
  });
});

describe("free-threaded runtime: slots", () => {
  it("refuses a thread past the last heap slot with ERR_TSMALLOC_THREAD_LIMIT, and takes one again when a thread closes", () => {
    const memory = sharedMemory(64 * MiB);
    const creator = createRuntime({ memory, freeThreading: true });
    const threads = Array.from({ length: MAX_HEAP_SLOTS - 1 }, () => attachRuntime(memory));
    expect(threads.at(-1)!.threadSlot).toBe(MAX_HEAP_SLOTS);
    const error = expectError(() => attachRuntime(memory), ErrorCode.ThreadLimit);
    expect(error.message).toMatch(/^attachRuntime: all 255 heap slots/);
    threads[100]!.close();
    expect(attachRuntime(memory).threadSlot).toBe(102);
    expectRuntimeOk(creator);
  });

  it("takes a slot again for a runtime used after close(), which may be the one it let go", () => {
    const { memory, creator, threads } = threaded("default", 1);
    const [b] = threads as [Runtime];
    const p = b.objMalloc(40);
    b.close();
    b.close(); // nothing more to let go
    expect(b.threadSlot).toBe(0);
    expect(b.allocatorName()).toBe("pymalloc");
    b.objFree(p); // its first call after close takes its slot back, then frees its own block
    expect(b.threadSlot).toBe(2);
    expect(b.mallocHeap.heapSlot).toBe(2);
    expectRuntimeOk(creator);
    expect(memory.shared).toBe(true);
  });

  it("abandons a dead worker's slot on request (abandonThread), never this thread's own or a free one", () => {
    const { memory, creator, threads } = threaded("default", 1);
    const [worker] = threads as [Runtime];
    const left = worker.objMalloc(100);
    const slot = worker.threadSlot;
    // the worker ended without close(): its creator declares it gone
    creator.abandonThread(slot);
    expect(slotTable(creator).state(slot)).toBe(HeapSlotState.Abandoned);
    expectError(() => creator.abandonThread(slot), ErrorCode.InvalidOption);
    expect(expectError(() => creator.abandonThread(creator.threadSlot), ErrorCode.InvalidOption).message).toContain("close()");
    for (const bad of [0, 9, -1, 1.5, "2", 256]) expectError(() => creator.abandonThread(bad as number), ErrorCode.InvalidOption);
    expectError(() => createRuntime().abandonThread(2), ErrorCode.InvalidOption);
    const next = attachRuntime(memory);
    expect(next.threadSlot).toBe(slot);
    next.objFree(left);
    expectRuntimeOk(creator);
  });

  it("keeps the high-water mark flat over 100 abandon / adopt cycles", () => {
    const { memory, creator } = threaded("default", 0);
    let highWater = 0;
    const leftBehind: number[] = [];
    for (let cycle = 0; cycle < 100; cycle++) {
      const rt = attachRuntime(LinearMemory.attach(memory.source));
      expect(rt.threadSlot).toBe(2);
      const blocks = Array.from({ length: 400 }, (_, i) => rt.objMalloc(16 + ((cycle + i) % 30) * 16));
      const large = Array.from({ length: 10 }, (_, i) => rt.memMalloc(600 + i * 1000));
      // the creator frees some blocks of every earlier cycle, this thread half of its own
      for (const p of leftBehind.splice(0)) creator.objFree(p);
      for (const [i, p] of blocks.entries()) if (i % 2 === 0) rt.objFree(p);
      for (const p of large) creator.memFree(p);
      for (const [i, p] of blocks.entries()) if (i % 2 === 1) leftBehind.push(p);
      rt.close();
      const mapped = memory.stats().mappedBytes;
      if (cycle === 5) highWater = mapped;
      if (cycle > 5) expect(mapped).toBeLessThanOrEqual(highWater);
    }
    for (const p of leftBehind) creator.objFree(p);
    creator.reclaim();
    expectRuntimeOk(creator);
  });

  it("lets a thread that needs memory free what others freed into abandoned heaps, so their emptied arenas serve it", () => {
    const { memory, creator, threads } = threaded("default", 1);
    const [producer] = threads as [Runtime];
    const blocks = Array.from({ length: (8 * MiB) / 256 }, () => producer.objMalloc(256));
    producer.close();
    for (const p of blocks) creator.objFree(p); // all wait on the abandoned heap's list
    const mapped = memory.stats().mappedBytes;
    // the creator's own arenas fill up: before it maps a new one, the abandoned heap gives back its
    for (let i = 0; i < (6 * MiB) / 256; i++) creator.objMalloc(256);
    expect(memory.stats().mappedBytes).toBeLessThanOrEqual(mapped);
    expectRuntimeOk(creator);
  });
});

describe("free-threaded runtime: statistics, checks and the record", () => {
  it("debugMallocStats() shows each thread's pymalloc heap, then all of them together", () => {
    const { creator, threads } = threaded("default", 1);
    const [b] = threads as [Runtime];
    for (let i = 0; i < 10; i++) creator.objMalloc(16);
    for (let i = 0; i < 5; i++) b.objMalloc(16);
    const text = creator.debugMallocStats();
    expect(text).toContain("pymalloc heap of heap slot 1 (this thread's):\nSmall block threshold = 512, in 32 size classes.");
    expect(text).toContain("pymalloc heap of heap slot 2 (another thread's):");
    expect(text).toContain("all 2 pymalloc heaps together:\nSmall block threshold = 512");
    const total = text.slice(text.indexOf("all 2 pymalloc heaps together:"));
    expect(total).toContain("\n    0     16           2              15          2027\n");
    expect(total).toContain("\n2 arenas * 1048576 bytes/arena     =            2,097,152\n");
    expect(b.debugMallocStats()).toContain("pymalloc heap of heap slot 1 (another thread's):");
    b.close();
    expect(creator.debugMallocStats()).toContain("pymalloc heap of heap slot 2 (abandoned):");
    expect(threaded("malloc", 0).creator.debugMallocStats()).toBe("");
  });

  it("check() validates every thread's heaps and names the slot of each problem", () => {
    const { memory, creator, threads } = threaded("default", 1);
    const [b] = threads as [Runtime];
    const p = b.objMalloc(48);
    expectRuntimeOk(creator);
    const table = slotTable(creator);
    memory.u8[table.pageTable + (p >>> 16)] = 7;
    const problems = creator.check().problems.map((problem) => problem.message);
    expect(problems.some((message) => message.startsWith("slot 2 pymalloc: ") && message.includes("marked for slot 7"))).toBe(true);
  });

  it("records freeThreading in the runtime record: a runtime attached anywhere is free-threaded", () => {
    const { memory, creator } = threaded("pymalloc_debug", 0, { malloc: { mmapThreshold: 64 << 10 }, pymalloc: { layout: "python38", checks: false }, debug: { serialNumbers: true } });
    const attached = attachRuntime(LinearMemory.attach(memory.source), creator.address);
    expect(attached.freeThreading).toBe(true);
    expect(attached.config).toBe("pymalloc_debug");
    expect(memory.u32[(creator.address >>> 2) + 1]).toBe(2);
    // the thread's heaps are made as the creator's were
    expect(attached.mallocHeap.mmapThreshold).toBe(64 << 10);
    expect(attached.pymallocHeap!.layout.poolSize).toBe(4096);
    const p = attached.memMalloc(8);
    expect(attached.getAllocator(Domain.MEM)).toMatchObject({ serialNumbers: true });
    attached.memFree(p);
    expect(createRuntime().freeThreading).toBe(false);
    expect(createRuntime().threadSlot).toBe(0);
    expect(createRuntime().reclaim()).toBe(0);
  });
});

describe("free-threaded runtime: domains and hooks", () => {
  it("lets a hook wrap a thread's domain before its heaps exist: its calls reach them", () => {
    const { creator, threads } = threaded("default", 1);
    const [b] = threads as [Runtime];
    const hook = new RecordingHook(b.getAllocator(Domain.OBJ));
    b.setAllocator(Domain.OBJ, hook);
    const p = b.objMalloc(30);
    expect(slotTable(creator).slotOf(p)).toBe(2);
    creator.objFree(p);
    expect(hook.calls).toEqual([{ op: "malloc", size: 30, result: p }]);
    expect(b.allocatorName()).toBeNull();
  });

  it("injects faults (setNoMemory) and removes them in a thread whose heaps do not exist yet", () => {
    const { threads } = threaded("default", 1);
    const [b] = threads as [Runtime];
    b.setNoMemory(0);
    expect(b.objMalloc(10)).toBe(0);
    b.removeMemHooks();
    expect(b.objMalloc(10)).not.toBe(0);
    expect(b.allocatorName()).toBe("pymalloc");
  });

  it("refuses setupDebugHooks and setArenaAllocator, and keeps the default arena allocator", () => {
    const { memory, creator, threads } = threaded("default", 1);
    const [b] = threads as [Runtime];
    expect(expectError(() => creator.setupDebugHooks(), ErrorCode.InvalidOption).message).toContain("_debug configuration");
    expectError(() => b.setArenaAllocator(regionArenaAllocator(memory)), ErrorCode.InvalidOption);
    expect(typeof b.getArenaAllocator().alloc).toBe("function");
    expect(creator.getArenaAllocator()).toBe(creator.pymallocHeap!.getArenaAllocator());
  });

  it("returns 0 from a thread's first malloc when the memory cannot hold its heaps", () => {
    const memory = new LinearMemory({ shared: true, maximum: 2 * MiB });
    const creator = createRuntime({ memory, allocator: "malloc", freeThreading: true });
    while (creator.rawMalloc(64 << 10) !== 0);
    const b = attachRuntime(memory);
    expect(b.memMalloc(10)).toBe(0);
    expect(b.memCalloc(1, 10)).toBe(0);
    expect(b.memRealloc(0, 10)).toBe(0);
    expectError(() => b.mallocHeap, ErrorCode.OutOfMemory);
    expect(slotTable(creator).heap(2, HeapKind.Malloc)).toBe(0);
  });
});

describe("free-threaded runtime: bad options", () => {
  it("refuses freeThreading without a shared LinearMemory, before anything is allocated", () => {
    const unshared = new LinearMemory({ maximum: 16 * MiB });
    const before = unshared.regions();
    expect(expectError(() => createRuntime({ memory: unshared, freeThreading: true }), ErrorCode.InvalidOption).message).toContain("not shared");
    expect(unshared.regions()).toEqual(before);
    expect(expectError(() => createRuntime({ freeThreading: true }), ErrorCode.InvalidOption).message).toContain("new LinearMemory({ shared: true })");
    for (const memory of [null, {}, sharedMemory().source, "memory"]) {
      expectError(() => createRuntime({ memory: memory as never, freeThreading: true }), ErrorCode.InvalidOption);
    }
  });

  it("refuses a freeThreading that is not a boolean, and options free-threading cannot keep", () => {
    const memory = sharedMemory(64 * MiB);
    const before = memory.regions();
    for (const value of [1, "true", null, {}]) expectError(() => createRuntime({ memory, freeThreading: value as never }), ErrorCode.InvalidOption);
    expect(expectError(() => createRuntime({ memory, freeThreading: true, pymalloc: { arenaAllocator: regionArenaAllocator(memory) } }), ErrorCode.InvalidOption).message).toContain("arenaAllocator");
    for (const malloc of [{ mmapThreshold: 3 }, { segmentSize: -1 }, { segmentSize: 1.5 }]) {
      expectError(() => createRuntime({ memory, freeThreading: true, malloc }), ErrorCode.InvalidOption);
    }
    expectError(() => createRuntime({ memory, freeThreading: true, pymalloc: { layout: "bogus" as never } }), ErrorCode.InvalidOption);
    expectError(() => createRuntime({ memory, freeThreading: true, debug: { tracebacks: -1 } }), ErrorCode.InvalidOption);
    expect(memory.regions()).toEqual(before);
    // attachRuntime takes only each thread's own options
    const rt = createRuntime({ memory, freeThreading: true });
    for (const options of [{ freeThreading: true }, { freeThreading: false }]) {
      expectError(() => attachRuntime(memory, undefined, options as never), ErrorCode.InvalidOption);
    }
    expectRuntimeOk(rt);
    expect(memory.regions().length).toBeGreaterThan(before.length);
    expect(PAGE_SIZE).toBe(65536);
  });
});

describe("free-threaded runtime: what tools above the registry read", () => {
  it("heapSlots is the runtime's slot table in every thread, null without free-threading", () => {
    const { creator, threads } = threaded("default", 1);
    const [other] = threads as [Runtime];
    expect(creator.heapSlots).not.toBeNull();
    expect(creator.heapSlots!.address).toBe(slotTable(creator).address);
    expect(other.heapSlots!.address).toBe(creator.heapSlots!.address);
    expect(other.heapSlots!.state(other.threadSlot)).toBe(HeapSlotState.Owned);
    expect(createRuntime().heapSlots).toBeNull();
    expect(createRuntime({ memory: sharedMemory(64 * MiB) }).heapSlots).toBeNull();
  });

  it("onClose calls its listeners in order when close() lets this thread's slot go, before it does, every time", () => {
    const { creator, threads } = threaded("default", 1);
    const [other] = threads as [Runtime];
    const calls: string[] = [];
    const slots = other.heapSlots!;
    const slot = other.threadSlot;
    other.onClose(() => calls.push(`first: slot ${slots.state(slot) === HeapSlotState.Owned ? "held" : "gone"}`));
    const remove = other.onClose(() => calls.push("second"));
    other.close();
    expect(calls).toEqual(["first: slot held", "second"]);
    expect(slots.state(slot)).toBe(HeapSlotState.Abandoned);
    other.close(); // holds no slot: nothing to close
    expect(calls).toHaveLength(2);
    remove();
    remove();
    other.objFree(other.objMalloc(8)); // takes a slot again
    other.close();
    expect(calls).toEqual(["first: slot held", "second", "first: slot held"]);
    // the creator's listeners are its own
    expect(creator.threadSlot).toBe(1);
  });

  it("onClose on a runtime that is not free-threaded: called on the first close() only; a listener that throws stops the close", () => {
    const runtime = createRuntime();
    let called = 0;
    const remove = runtime.onClose(() => {
      called++;
      throw new Error("no");
    });
    expect(() => runtime.close()).toThrow("no");
    remove();
    runtime.onClose(() => called++);
    runtime.close();
    runtime.close();
    expect(called).toBe(2);
    expectError(() => runtime.onClose("x" as never), ErrorCode.InvalidOption);
  });
});
