/*
 * What a replay runs against: one shape, ReplayTarget, for the timed and the verified replay,
 * the benchmarks and the churn workloads. Any `@tsmalloc/memory` Allocator is one as it is; a
 * domain of a runtime becomes one through domainTarget(), whose calls are the domain's entry
 * points (the traced program's malloc becoming PyMem_Malloc for MEM, as in an extension module).
 *
 * The package depends on no other tsmalloc package (the allocators' own tests replay traces),
 * so it states what it needs of an allocator and of a runtime as shapes; `@tsmalloc/registry`'s
 * Runtime has every member of TraceRuntime.
 */
import { argumentError, describe } from "./errors.ts";

/** The memory a target's addresses point into: its bytes. */
export interface TargetMemory {
  readonly u8: Uint8Array;
}

/**
 * What a replay calls: the allocation functions of the `Allocator` contract, addresses as
 * numbers, 0 for NULL. Every `@tsmalloc/memory` Allocator is a ReplayTarget.
 */
export interface ReplayTarget {
  /** @returns the block's address, or 0 when the request fails */
  malloc(size: number): number;
  /** @returns the block's address (its bytes zero), or 0 */
  calloc(nelem: number, elsize: number): number;
  /** @returns the block's (possibly new) address, or 0 (the old block then intact) */
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  /** An aligned allocation, for the trace's `m` events; a target without it cannot replay them. */
  memalign?(alignment: number, size: number): number;
  /** The memory the addresses point into: a verified replay fills and checks the blocks there. */
  readonly memory?: TargetMemory;
}

/** A runtime's allocator domains, as the registry names them (`Domain.RAW`, `Domain.MEM`, `Domain.OBJ`). */
export type TraceDomain = "raw" | "mem" | "obj";

/** The domains, in CPython's order. */
export const TRACE_DOMAINS: readonly TraceDomain[] = ["raw", "mem", "obj"];

/** What trace needs of an allocator a runtime's domain has (`@tsmalloc/memory`'s Allocator has it all). */
export interface DomainAllocator {
  readonly name: string;
  readonly memory: TargetMemory;
  malloc(size: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
}

/**
 * What trace needs of a runtime: its memory, each domain's allocator (get and set, as CPython's
 * `PyMem_GetAllocator` / `PyMem_SetAllocator`) and each domain's entry points. A
 * `@tsmalloc/registry` Runtime is one.
 */
export interface TraceRuntime {
  readonly memory: TargetMemory;
  getAllocator(domain: TraceDomain): DomainAllocator;
  setAllocator(domain: TraceDomain, allocator: DomainAllocator): void;
  rawMalloc(size: number): number;
  rawCalloc(nelem: number, elsize: number): number;
  rawRealloc(ptr: number, size: number): number;
  rawFree(ptr: number): void;
  memMalloc(size: number): number;
  memCalloc(nelem: number, elsize: number): number;
  memRealloc(ptr: number, size: number): number;
  memFree(ptr: number): void;
  objMalloc(size: number): number;
  objCalloc(nelem: number, elsize: number): number;
  objRealloc(ptr: number, size: number): number;
  objFree(ptr: number): void;
}

/** Options of {@link domainTarget}. */
export interface DomainTargetOptions {
  /**
   * The alignment every block of the domain has: an `m` event asking for no more is a plain
   * allocation; a larger one fails (returns NULL: the domains have no aligned allocation).
   * @defaultValue 16 (every tsmalloc configuration; CPython's `ALIGNMENT` on 64-bit platforms)
   */
  readonly alignment?: number;
}

/** Indexes of TRACE_DOMAINS ("raw" is 0, the remaining case of each branch below). */
const MEM = 1;
const OBJ = 2;

/**
 * A runtime's domain as a replay target: `malloc` is `runtime.memMalloc` for `"mem"`
 * (`PyMem_Malloc`), `runtime.rawMalloc` for `"raw"`, `runtime.objMalloc` for `"obj"`, and so on
 * for calloc, realloc and free. `memalign` up to the domain's alignment is a plain allocation,
 * and returns 0 (NULL) beyond it, as `aligned_alloc` does for an alignment it cannot give (a
 * replay counts it among the requests that returned NULL). `memory` is the runtime's.
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` when `runtime` lacks the entry points
 *   or a memory, `domain` is not one of {@link TRACE_DOMAINS}, or the alignment is not a power of two
 */
export function domainTarget(runtime: TraceRuntime, domain: TraceDomain, options: DomainTargetOptions = {}): ReplayTarget {
  checkRuntime("domainTarget", runtime);
  const index = TRACE_DOMAINS.indexOf(domain);
  if (index < 0) throw argumentError("domainTarget", `domain must be one of ${TRACE_DOMAINS.join(", ")}, got ${describe(domain)}`);
  const alignment = options.alignment ?? 16;
  if (!Number.isInteger(alignment) || alignment < 1 || (alignment & (alignment - 1)) !== 0) throw argumentError("domainTarget", `alignment must be a power of two, got ${describe(alignment)}`);
  return new DomainTarget(runtime, index, alignment);
}

/**
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` unless `runtime` has a memory with
 *   bytes and the functions of {@link TraceRuntime}
 */
export function checkRuntime(fn: string, runtime: TraceRuntime): void {
  const r = runtime as Partial<Record<keyof TraceRuntime, unknown>> | null;
  if (typeof r !== "object" || r === null) throw argumentError(fn, `runtime must be a Runtime (from @tsmalloc/registry's createRuntime), got ${describe(runtime)}`);
  if (!((r.memory as Partial<TargetMemory> | undefined)?.u8 instanceof Uint8Array)) throw argumentError(fn, "runtime must have a memory with a u8 view");
  for (const name of RUNTIME_FUNCTIONS) {
    if (typeof r[name] !== "function") throw argumentError(fn, `runtime must be a Runtime (from @tsmalloc/registry's createRuntime): it has no ${name}()`);
  }
}

const RUNTIME_FUNCTIONS: readonly (keyof TraceRuntime)[] = [
  "getAllocator",
  "setAllocator",
  "rawMalloc",
  "rawCalloc",
  "rawRealloc",
  "rawFree",
  "memMalloc",
  "memCalloc",
  "memRealloc",
  "memFree",
  "objMalloc",
  "objCalloc",
  "objRealloc",
  "objFree",
];

/** One class for the three domains, so that the replay's call sites see one shape. */
class DomainTarget implements ReplayTarget {
  readonly memory: TargetMemory;
  readonly #runtime: TraceRuntime;
  readonly #domain: number;
  readonly #alignment: number;

  constructor(runtime: TraceRuntime, domain: number, alignment: number) {
    this.memory = runtime.memory;
    this.#runtime = runtime;
    this.#domain = domain;
    this.#alignment = alignment;
  }

  malloc(size: number): number {
    const d = this.#domain;
    return d === MEM ? this.#runtime.memMalloc(size) : d === OBJ ? this.#runtime.objMalloc(size) : this.#runtime.rawMalloc(size);
  }

  calloc(nelem: number, elsize: number): number {
    const d = this.#domain;
    return d === MEM ? this.#runtime.memCalloc(nelem, elsize) : d === OBJ ? this.#runtime.objCalloc(nelem, elsize) : this.#runtime.rawCalloc(nelem, elsize);
  }

  realloc(ptr: number, size: number): number {
    const d = this.#domain;
    return d === MEM ? this.#runtime.memRealloc(ptr, size) : d === OBJ ? this.#runtime.objRealloc(ptr, size) : this.#runtime.rawRealloc(ptr, size);
  }

  free(ptr: number): void {
    const d = this.#domain;
    if (d === MEM) this.#runtime.memFree(ptr);
    else if (d === OBJ) this.#runtime.objFree(ptr);
    else this.#runtime.rawFree(ptr);
  }

  memalign(alignment: number, size: number): number {
    return alignment <= this.#alignment ? this.malloc(size) : 0;
  }
}
