import { LinearMemory } from "@tsmalloc/memory";
import { createRuntime, Domain, WrappingAllocator } from "@tsmalloc/registry";

/**
 * A hook in the manner of tracemalloc: it wraps the allocator a domain had, counts what passes
 * through, and hands every call on (WrappingAllocator keeps `wrapped` and passes usableSize, owns,
 * check and stats on). Installed with setAllocator, removed by putting `wrapped` back.
 */
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

const runtime = createRuntime({ memory: new LinearMemory({ initial: 16 }) });
const hook = new CountingHook(runtime.getAllocator(Domain.RAW));
runtime.setAllocator(Domain.RAW, hook);
console.log(runtime.allocatorName()); // a custom setup has no name

// pymalloc's own RAW requests go through the RAW *domain*, so the hook sees them too
const blocks: number[] = [];
for (let i = 0; i < 1000; i++) blocks.push(runtime.objMalloc(16)); // the first arena's arenas vector
blocks.push(runtime.memMalloc(100_000)); // a large request, served by RAW
console.log(`RAW calls seen: ${hook.calls}`);
for (const p of blocks) runtime.objFree(p);

runtime.setAllocator(Domain.RAW, hook.wrapped);
console.log(runtime.allocatorName());

// _testcapi.set_nomemory: calls after the 2nd fail, until remove_mem_hooks()
runtime.setNoMemory(2);
console.log([runtime.objMalloc(8), runtime.rawMalloc(8), runtime.memMalloc(8)].map((p) => p !== 0));
runtime.removeMemHooks();
console.log(runtime.objMalloc(8) !== 0);
