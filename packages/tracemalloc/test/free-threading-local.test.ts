/*
 * Tracers of a free-threaded runtime within one thread: a runtime attached in this thread holds a
 * heap slot of its own and has a tracer of its own, exactly as a worker's would, so the cases that
 * need a precise setting (a full memory, the module functions) run here without workers.
 */
import { ErrorCode, LinearMemory, PAGE_SIZE, RegionOwner } from "@tsmalloc/memory";
import { attachRuntime, createRuntime, defaultRuntime, setDefaultRuntime } from "@tsmalloc/registry";
import { createTracemalloc, getRemoteFreesLost, MAX_SHARED_TRACERS, start, stop } from "@tsmalloc/tracemalloc";
import { describe, expect, it } from "vitest";
import { thrown } from "./helpers.ts";

const MiB = 1 << 20;

describe("tracemalloc under free-threading, two slots in one thread", () => {
  it("counts a free it could not queue for lack of memory, keeps the trace, and starts afresh after clearTraces()", () => {
    const memory = new LinearMemory({ shared: true, maximum: 16 * MiB });
    const a = createRuntime({ memory, freeThreading: true });
    const b = attachRuntime(LinearMemory.attach(memory.source));
    const ta = createTracemalloc(a);
    const tb = createTracemalloc(b);
    ta.start();
    tb.start();
    b.objFree(b.objMalloc(8)); // B's heaps exist before the memory fills
    const kept = [a.objMalloc(40), a.objMalloc(50)];
    // fill the memory: A's queue cannot be mapped
    const filler: number[] = [];
    for (let region = memory.map(PAGE_SIZE); region !== 0; region = memory.map(PAGE_SIZE)) filler.push(region);
    b.objFree(kept[0]!);
    expect(ta.getRemoteFreesLost()).toBe(1);
    // the trace stays: the tracer cannot know which one went
    expect(ta.getTracedMemory()).toEqual([90, 90]);
    expect(ta.takeSnapshot().traces).toHaveLength(2);
    ta.clearTraces();
    expect(ta.getRemoteFreesLost()).toBe(0);
    expect(ta.getTracedMemory()).toEqual([0, 0]);
    // with room again, the next free is queued
    memory.unmap(filler.pop()!);
    const again = a.objMalloc(60);
    b.objFree(again);
    expect(ta.getRemoteFreesLost()).toBe(0);
    expect(ta.getTracedMemory()).toEqual([0, 60]);
    tb.stop();
    ta.stop();
    expect(ta.getRemoteFreesLost()).toBe(0);
  });

  it("announces to the tracers of its own runtime only", () => {
    const memory = new LinearMemory({ shared: true, maximum: 64 * MiB });
    const one = createRuntime({ memory, freeThreading: true });
    const oneOther = attachRuntime(LinearMemory.attach(memory.source), one.address);
    const two = createRuntime({ memory, freeThreading: true });
    const tracers = [one, oneOther, two].map((rt) => createTracemalloc(rt));
    for (const t of tracers) t.start();
    const table = memory.getRoot("tstm");
    expect(memory.u32[(table >>> 2) + 3]).toBe(3);
    // oneOther frees one's block: one drops it; two is not told (its queue never mapped)
    const queues = (): number => memory.regions().filter((r) => r.owner === RegionOwner.User).length - 1;
    const p = one.memMalloc(30);
    oneOther.memFree(p);
    expect(tracers[0]!.getTracedMemory()).toEqual([0, 30]);
    expect(queues()).toBe(1);
    for (const t of tracers) t.stop();
    expect(memory.u32[(table >>> 2) + 3]).toBe(0);
  });

  it("the package's getRemoteFreesLost() is the default runtime's tracer's", () => {
    const saved = defaultRuntime();
    try {
      setDefaultRuntime(createRuntime({ memory: new LinearMemory({ shared: true, maximum: 64 * MiB }), freeThreading: true }));
      start();
      expect(getRemoteFreesLost()).toBe(0);
      stop();
      expect(getRemoteFreesLost()).toBe(0);
    } finally {
      setDefaultRuntime(saved);
    }
  });

  it("refuses to start over a memory whose root is no table of shared tracers, starting nothing", () => {
    const memory = new LinearMemory({ shared: true, maximum: 64 * MiB });
    const runtime = createRuntime({ memory, freeThreading: true });
    memory.setRoot("tstm", memory.map(PAGE_SIZE));
    const tracer = createTracemalloc(runtime);
    expect((thrown(() => tracer.start()) as { code: string }).code).toBe(ErrorCode.Incompatible);
    expect(tracer.isTracing()).toBe(false);
    expect(runtime.allocatorName()).toBe("pymalloc");
    expect(MAX_SHARED_TRACERS).toBe(2046);
  });
});
