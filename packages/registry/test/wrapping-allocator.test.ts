/*
 * WrappingAllocator: what a hook gets from it (the optional calls passed on to the allocator it
 * wraps, a clear error when that allocator lacks one), through the public API, and the fault
 * hooks of setNoMemory built on it.
 */
import { type Allocator, ErrorCode, LinearMemory, TsmallocError } from "@tsmalloc/memory";
import { createRuntime, Domain, WrappingAllocator } from "@tsmalloc/registry";
import { describe, expect, it } from "vitest";

/** A hook that counts the mallocs it passes on. */
class CountingHook extends WrappingAllocator {
  readonly name = "counting";
  mallocs = 0;

  malloc(size: number): number {
    this.mallocs++;
    return this.wrapped.malloc(size);
  }
  calloc(nelem: number, elsize: number): number {
    return this.wrapped.calloc(nelem, elsize);
  }
  realloc(ptr: number, size: number): number {
    return this.wrapped.realloc(ptr, size);
  }
  free(ptr: number): void {
    this.wrapped.free(ptr);
  }
}

/** An allocator with the four required calls only. */
function bare(memory: LinearMemory): Allocator {
  return { name: "bare", memory, malloc: () => 0, calloc: () => 0, realloc: () => 0, free: () => {} };
}

describe("WrappingAllocator", () => {
  it("passes usableSize, owns, check and stats on to the allocator it wraps", () => {
    const runtime = createRuntime({ memory: new LinearMemory() });
    const below = runtime.getAllocator(Domain.MEM);
    const hook = new CountingHook(below);
    runtime.setAllocator(Domain.MEM, hook);
    expect(hook.memory).toBe(runtime.memory);
    expect(hook.wrapped).toBe(below);
    const p = runtime.memMalloc(100);
    expect(hook.mallocs).toBe(1);
    expect(hook.usableSize(p)).toBe(below.usableSize!(p));
    expect(hook.owns(p)).toBe(true);
    expect(hook.owns(8)).toBe(false);
    expect(hook.check()).toEqual(below.check!());
    expect(hook.stats()).toEqual(below.stats!());
    runtime.memFree(p);
    expect(runtime.check().ok).toBe(true);
  });

  it.each(["usableSize", "check", "stats"] as const)("%s of an allocator that has none: ERR_TSMALLOC_INVALID_OPTION naming both", (what) => {
    const hook = new CountingHook(bare(new LinearMemory()));
    const call = (): unknown => (what === "usableSize" ? hook.usableSize(16) : hook[what]());
    expect(call).toThrow(TsmallocError);
    expect(call).toThrow(expect.objectContaining({ code: ErrorCode.InvalidOption, message: `${what}: the allocator that the hook "counting" wraps ("bare") has no ${what}()` }));
  });

  it("owns of an allocator that has none is false", () => {
    expect(new CountingHook(bare(new LinearMemory())).owns(16)).toBe(false);
  });

  it("is what setNoMemory's hooks are: they pass check() on to the heaps below", () => {
    const runtime = createRuntime({ memory: new LinearMemory() });
    runtime.setNoMemory(0, 0);
    const hook = runtime.getAllocator(Domain.MEM);
    expect(hook).toBeInstanceOf(WrappingAllocator);
    expect(hook.name).toBe("nomemory");
    expect(runtime.memMalloc(10)).toBe(0);
    expect(hook.check!().ok).toBe(true);
    runtime.removeMemHooks();
    expect(runtime.getAllocator(Domain.MEM)).not.toBeInstanceOf(WrappingAllocator);
  });
});
