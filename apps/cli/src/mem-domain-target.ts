import type { LinearMemory } from "@tsmalloc/memory";
import type { Runtime } from "@tsmalloc/registry";
import type { ReplayAllocator } from "@tsmalloc/testkit";

/**
 * The alignment of every block the MEM domain hands out, in every configuration: pymalloc's
 * `ALIGNMENT`, the system malloc's, and the debug hooks' 16-byte header keeps it.
 */
export const MEM_ALIGNMENT = 16;

/**
 * A runtime's MEM domain as a replay target: the traced program's `malloc`, `calloc`, `realloc`
 * and `free` become `PyMem_Malloc`, `PyMem_Calloc`, `PyMem_Realloc` and `PyMem_Free`, as they
 * would be in an extension module. `memalign` with an alignment up to {@link MEM_ALIGNMENT} is a
 * plain `memMalloc` (the domain aligns that far already); the loader refuses larger ones.
 */
export class MemDomainTarget implements ReplayAllocator {
  readonly memory: LinearMemory;
  readonly #runtime: Runtime;

  constructor(runtime: Runtime) {
    this.#runtime = runtime;
    this.memory = runtime.memory;
  }

  malloc(size: number): number {
    return this.#runtime.memMalloc(size);
  }

  calloc(nelem: number, elsize: number): number {
    return this.#runtime.memCalloc(nelem, elsize);
  }

  realloc(p: number, size: number): number {
    return this.#runtime.memRealloc(p, size);
  }

  free(p: number): void {
    this.#runtime.memFree(p);
  }

  memalign(alignment: number, size: number): number {
    return alignment <= MEM_ALIGNMENT ? this.#runtime.memMalloc(size) : 0;
  }
}
