/*
 * How tracing is installed, as CPython installs it: start() wraps each domain's allocator with
 * the registry's getAllocator / setAllocator, stop() puts back exactly what was there, and the
 * hooks compose with debug hooks, set_nomemory and a user's own allocators in either order.
 * What a trace records: requested sizes, realloc moving a trace and a failed one keeping it,
 * free dropping it, NULL never traced, pymalloc's own RAW requests never traced twice.
 */
import { isDebugAllocator } from "@tsmalloc/debug";
import { type Allocator, ErrorCode, LinearMemory } from "@tsmalloc/memory";
import { createRuntime, Domain, DOMAINS, type Runtime, WrappingAllocator } from "@tsmalloc/registry";
import { createTracemalloc } from "@tsmalloc/tracemalloc";
import { describe, expect, it } from "vitest";
import { corruption, expectError, here, thrown, traced } from "./helpers.ts";

/** The allocator of each domain, to compare before and after. */
function table(runtime: Runtime): Allocator[] {
  return DOMAINS.map((d) => runtime.getAllocator(d));
}

/** A user's hook in the manner of the registry README's CountingHook. */
class CountingHook extends WrappingAllocator {
  readonly name = "counting";
  calls = 0;
  malloc(size: number): number {
    this.calls++;
    return this.wrapped.malloc(size);
  }
  calloc(nelem: number, elsize: number): number {
    this.calls++;
    return this.wrapped.calloc(nelem, elsize);
  }
  realloc(ptr: number, size: number): number {
    this.calls++;
    return this.wrapped.realloc(ptr, size);
  }
  free(ptr: number): void {
    this.wrapped.free(ptr);
  }
}

describe("start() and stop()", () => {
  it.each(["default", "debug", "malloc", "malloc_debug", "pymalloc", "pymalloc_debug"])("wrap each domain and put back exactly what was there (%s)", (allocator) => {
    const runtime = createRuntime({ allocator });
    const before = table(runtime);
    const name = runtime.allocatorName();
    const tracer = createTracemalloc(runtime);
    tracer.start();
    const during = table(runtime);
    during.forEach((hook, i) => {
      expect(hook).not.toBe(before[i]);
      expect(hook.name).toBe("tracemalloc");
      expect((hook as Allocator & { wrapped: Allocator }).wrapped).toBe(before[i]);
    });
    // a custom setup has no name, as CPython's _PyMem_GetCurrentAllocatorName under tracemalloc
    expect(runtime.allocatorName()).toBeNull();
    tracer.stop();
    expect(table(runtime)).toEqual(before);
    table(runtime).forEach((a, i) => expect(a).toBe(before[i]));
    expect(runtime.allocatorName()).toBe(name);
  });

  it("start() while tracing does nothing, keeping the limit, as CPython's; stop() while stopped does nothing", () => {
    const runtime = createRuntime();
    const tracer = createTracemalloc(runtime);
    tracer.stop();
    tracer.start(3);
    const during = table(runtime);
    tracer.start(7);
    expect(tracer.getTracebackLimit()).toBe(3);
    table(runtime).forEach((a, i) => expect(a).toBe(during[i]));
    tracer.stop();
    tracer.stop();
    expect(tracer.getTracebackLimit()).toBe(3); // kept after stop, as CPython's
  });

  it("one tracer per runtime: createTracemalloc gives the same object again", () => {
    const runtime = createRuntime();
    expect(createTracemalloc(runtime)).toBe(createTracemalloc(runtime));
    expect(createTracemalloc(createRuntime())).not.toBe(createTracemalloc(runtime));
    expect(createTracemalloc(runtime).runtime).toBe(runtime);
    expect(createTracemalloc(runtime).getTracebackLimit()).toBe(1);
  });

  it("blocks allocated before start are not traced, and freeing them after changes nothing", () => {
    const runtime = createRuntime();
    const early = runtime.memMalloc(100);
    const tracer = createTracemalloc(runtime);
    tracer.start();
    expect(tracer.getObjectTraceback(early)).toBeNull();
    runtime.memFree(early);
    expect(tracer.getTracedMemory()).toEqual([0, 0]);
    tracer.stop();
  });

  it("blocks traced while tracing can be freed after stop", () => {
    const { runtime, tracer } = traced(1);
    const p = runtime.objMalloc(10);
    tracer.stop();
    runtime.objFree(p);
    expect(runtime.check().ok).toBe(true);
  });
});

describe("what a trace records", () => {
  it("the requested size, not the allocator's rounding; calloc's product", () => {
    const { runtime, tracer } = traced(1);
    const a = runtime.objMalloc(3);
    const b = runtime.memCalloc(7, 3);
    const c = runtime.rawMalloc(1001);
    const sizes = new Map(tracer.takeSnapshot().traces.map((t) => [t.size, t]));
    expect([...sizes.keys()].sort((x, y) => x - y)).toEqual([3, 21, 1001]);
    expect(tracer.getTracedMemory()).toEqual([1025, 1025]);
    runtime.objFree(a);
    runtime.memFree(b);
    runtime.rawFree(c);
    expect(tracer.getTracedMemory()).toEqual([0, 1025]);
    expect(tracer.takeSnapshot().traces).toEqual([]);
  });

  it("realloc moves the trace to the new block with the new size and the realloc's line", () => {
    const { runtime, tracer } = traced(1);
    const p = runtime.objMalloc(16);
    const [q, line] = [runtime.objRealloc(p, 4000), here()];
    expect(q).not.toBe(p); // a pymalloc block cannot grow past 512 bytes in place
    expect(tracer.getObjectTraceback(p)).toBeNull();
    expect(tracer.getObjectTraceback(q)!.at(0)).toEqual(line);
    expect(tracer.takeSnapshot().traces.map((t) => t.size)).toEqual([4000]);
    expect(tracer.getTracedMemory()).toEqual([4000, 4000]);
    // in place: the same address, the new size
    const [r, line2] = [runtime.memRealloc(q, 3000), here()];
    expect(tracer.getObjectTraceback(r)!.at(0)).toEqual(line2);
    expect(tracer.getTracedMemory()).toEqual([3000, 4000]);
    runtime.memFree(r);
  });

  it("realloc(0, n) is a new trace; realloc of a block allocated before tracing is traced from then on", () => {
    const runtime = createRuntime();
    const early = runtime.memMalloc(10);
    const tracer = createTracemalloc(runtime);
    tracer.start();
    const [a, lineA] = [runtime.memRealloc(0, 40), here()];
    expect(tracer.getObjectTraceback(a)!.at(0)).toEqual(lineA);
    const [b, lineB] = [runtime.memRealloc(early, 20), here()];
    expect(tracer.getObjectTraceback(b)!.at(0)).toEqual(lineB);
    expect(tracer.getTracedMemory()).toEqual([60, 60]);
    tracer.stop();
  });

  it("a failed realloc keeps the old trace; a NULL result is never traced", () => {
    const { runtime, tracer } = traced(1, { memory: new LinearMemory({ maximum: 4 << 20 }) }); // 4 MiB at most
    const [p, line] = [runtime.memMalloc(100), here()];
    // more than the memory can ever hold: the allocator returns 0
    expect(runtime.memRealloc(p, 8 << 20)).toBe(0);
    expect(tracer.getObjectTraceback(p)!.at(0)).toEqual(line);
    expect(tracer.getTracedMemory()).toEqual([100, 100]);
    expect(runtime.memMalloc(8 << 20)).toBe(0);
    expect(runtime.rawCalloc(0x1000, 0x1000)).toBe(0);
    expect(tracer.takeSnapshot().traces.length).toBe(1);
    runtime.memFree(p);
  });

  it("free drops the trace; free(0) changes nothing", () => {
    const { runtime, tracer } = traced(1);
    const p = runtime.objMalloc(8);
    runtime.objFree(0);
    runtime.getAllocator(Domain.OBJ).free(0);
    expect(tracer.getTracedMemory()).toEqual([8, 8]);
    runtime.objFree(p);
    expect(tracer.getObjectTraceback(p)).toBeNull();
    expect(tracer.getTracedMemory()).toEqual([0, 8]);
  });

  it("a free the allocator refuses keeps the trace", () => {
    const { runtime, tracer } = traced(1);
    const p = runtime.memMalloc(100);
    expect(thrown(() => runtime.memFree(p + 4))).toBeInstanceOf(Error);
    expect(tracer.getObjectTraceback(p)).not.toBeNull();
    runtime.memFree(p);
    expectError(() => runtime.memFree(p), ErrorCode.DoubleFree);
    expect(tracer.getTracedMemory()).toEqual([0, 100]);
  });

  it("a large MEM or OBJ block is traced once, though pymalloc asks the RAW domain for it (CPython's reentrant flag)", () => {
    for (const allocator of ["default", "pymalloc_debug"]) {
      const { runtime, tracer } = traced(1, { allocator });
      const [p, line] = [runtime.memMalloc(100_000), here()];
      const [q, lineQ] = [runtime.objMalloc(600), here()];
      const traces = tracer.takeSnapshot().traces;
      expect(traces.map((t) => [t.size, t.traceback.at(0)!.lineno]).sort((x, y) => x[0]! - y[0]!)).toEqual([
        [600, lineQ.lineno],
        [100_000, line.lineno],
      ]);
      expect(tracer.getTracedMemory()).toEqual([100_600, 100_600]);
      const moved = runtime.memRealloc(p, 200_000);
      expect(tracer.getTracedMemory()).toEqual([200_600, 200_600]);
      runtime.memFree(moved);
      runtime.objFree(q);
      expect(tracer.getTracedMemory()).toEqual([0, 200_600]);
      expect(tracer.takeSnapshot().traces).toEqual([]);
      tracer.stop();
    }
  });
});

describe("composition, in either order", () => {
  it("debug hooks installed after tracing started wrap the tracer; stop() leaves it passing through under them", () => {
    const runtime = createRuntime();
    const tracer = createTracemalloc(runtime);
    tracer.start();
    const hooks = table(runtime);
    runtime.setupDebugHooks();
    const debug = table(runtime);
    debug.forEach((a, i) => {
      expect(isDebugAllocator(a)).toBe(true);
      expect((a as Allocator & { wrapped: Allocator }).wrapped).toBe(hooks[i]);
    });
    // the tracer sees the hooks' own requests: 24 more bytes, at the block's header
    const p = runtime.memMalloc(40);
    expect(tracer.getObjectTraceback(p - 16)).not.toBeNull();
    expect(tracer.takeSnapshot().traces.some((t) => t.size === 64)).toBe(true);
    tracer.stop();
    table(runtime).forEach((a, i) => expect(a).toBe(debug[i]));
    runtime.memFree(p);
    expect(runtime.check().ok).toBe(true);
    // started again, it wraps the debug hooks
    tracer.start();
    const q = runtime.memMalloc(40);
    expect(tracer.takeSnapshot().traces.map((t) => t.size)).toEqual([40]);
    runtime.memFree(q);
    tracer.stop();
    table(runtime).forEach((a, i) => expect(a).toBe(debug[i]));
  });

  it("a damaged block under debug hooks is still reported, and its trace stays until it is freed for real", () => {
    const { runtime, tracer } = traced(1, { allocator: "debug" });
    const p = runtime.objMalloc(8);
    runtime.memory.u8[p + 8] = 0;
    corruption(() => runtime.objFree(p));
    expect(tracer.getObjectTraceback(p)).not.toBeNull();
    runtime.memory.u8[p + 8] = 0xfd;
    runtime.objFree(p);
    expect(tracer.getObjectTraceback(p)).toBeNull();
  });

  it("setNoMemory after start: failed calls are not traced; removeMemHooks gives the tracer back", () => {
    const { runtime, tracer } = traced(1);
    const hooks = table(runtime);
    const warm = runtime.memMalloc(10); // pymalloc's first arena: no RAW request in the counted calls
    tracer.clearTraces();
    runtime.setNoMemory(1);
    const a = runtime.memMalloc(10); // call 1 succeeds
    expect(runtime.memMalloc(10)).toBe(0);
    expect(runtime.objMalloc(10)).toBe(0);
    expect(tracer.getTracedMemory()).toEqual([10, 10]);
    runtime.removeMemHooks();
    table(runtime).forEach((x, i) => expect(x).toBe(hooks[i]));
    runtime.memFree(a);
    runtime.memFree(warm);
    expect(tracer.getTracedMemory()).toEqual([0, 10]);
  });

  it("setNoMemory before start: the tracer wraps the fault hooks; stop() gives them back, then removeMemHooks the rest", () => {
    const runtime = createRuntime();
    const warm = runtime.objMalloc(8); // pymalloc's first arena: no RAW request in the counted calls
    const original = table(runtime);
    runtime.setNoMemory(2);
    const faults = table(runtime);
    const tracer = createTracemalloc(runtime);
    tracer.start();
    const a = runtime.objMalloc(8);
    const b = runtime.objMalloc(8);
    expect(runtime.objMalloc(8)).toBe(0);
    expect(tracer.takeSnapshot().traces.length).toBe(2);
    tracer.stop();
    table(runtime).forEach((x, i) => expect(x).toBe(faults[i]));
    runtime.removeMemHooks();
    table(runtime).forEach((x, i) => expect(x).toBe(original[i]));
    runtime.objFree(a);
    runtime.objFree(b);
    runtime.objFree(warm);
  });

  it("a user's hook over the tracer, or under it", () => {
    // over: the hook sees every call, the trace's line is still the caller's
    const { runtime, tracer } = traced(1);
    const hooks = table(runtime);
    const over = new CountingHook(runtime.getAllocator(Domain.MEM));
    runtime.setAllocator(Domain.MEM, over);
    const [p, line] = [runtime.memMalloc(30), here()];
    expect(over.calls).toBe(1);
    expect(tracer.getObjectTraceback(p)!.at(0)).toEqual(line);
    tracer.stop();
    expect(runtime.getAllocator(Domain.MEM)).toBe(over);
    expect(runtime.getAllocator(Domain.RAW)).toBe((hooks[0] as Allocator & { wrapped: Allocator }).wrapped);
    // the tracer's MEM hook stays under the user's, passing every call through untraced
    runtime.memFree(p);
    tracer.start();
    const r = runtime.memMalloc(30);
    expect(tracer.takeSnapshot().traces.map((t) => t.size)).toEqual([30]);
    runtime.memFree(r);
    expect(tracer.getTracedMemory()).toEqual([0, 30]);

    // under: the tracer wraps the user's hook and stop() gives it back
    const runtime2 = createRuntime();
    const under = new CountingHook(runtime2.getAllocator(Domain.OBJ));
    runtime2.setAllocator(Domain.OBJ, under);
    const tracer2 = createTracemalloc(runtime2);
    tracer2.start();
    const [q, lineQ] = [runtime2.objMalloc(30), here()];
    expect(under.calls).toBe(1);
    expect(tracer2.getObjectTraceback(q)!.at(0)).toEqual(lineQ);
    tracer2.stop();
    expect(runtime2.getAllocator(Domain.OBJ)).toBe(under);
    runtime2.objFree(q);
  });

  it("the hook passes usableSize, owns, check and stats through, and says when the allocator below has none", () => {
    const { runtime } = traced(1);
    const mem = runtime.getAllocator(Domain.MEM);
    const p = runtime.memMalloc(100);
    expect(mem.usableSize!(p)).toBeGreaterThanOrEqual(100);
    expect(mem.owns!(p)).toBe(true);
    expect(mem.check!().ok).toBe(true);
    expect(mem.stats!().allocatedBytes).toBeGreaterThan(0);
    runtime.memFree(p);
    const bare = createRuntime();
    // a hook with the four required calls only
    const below = bare.getAllocator(Domain.RAW);
    const minimal: Allocator = {
      name: "minimal",
      memory: below.memory,
      malloc: (size) => below.malloc(size),
      calloc: (nelem, elsize) => below.calloc(nelem, elsize),
      realloc: (ptr, size) => below.realloc(ptr, size),
      free: (ptr) => below.free(ptr),
    };
    bare.setAllocator(Domain.RAW, minimal);
    const tracer = createTracemalloc(bare);
    tracer.start();
    const raw = bare.getAllocator(Domain.RAW);
    expect(raw.owns!(64)).toBe(false);
    for (const call of [() => raw.usableSize!(64), () => raw.check!(), () => raw.stats!()]) expectError(call, ErrorCode.InvalidOption);
    tracer.stop();
  });
});
