/*
 * The functions a module compiled with c/tsmalloc-shim.c imports from "tsmalloc": the C library's
 * malloc family on one domain of a runtime, and CPython's twelve domain entry points.
 *
 * Crossing the boundary. wasm32's size_t and pointers are i32: JavaScript receives them as signed
 * numbers (a 3 GiB request arrives as -1073741824), so every argument is read back as unsigned
 * with `>>> 0` before the runtime sees it; a pointer returned goes back into an i32 with the same
 * 32 bits. Each import is a small arrow function of the exact arity the module declares (V8 then
 * calls it without an arguments adaptor) that calls the runtime's entry point: the runtime reads
 * the domain's current allocator on every call, so hooks installed later (debug hooks, fault
 * injection, tracing) see the C program's calls too. What a domain refuses comes back as 0 (NULL;
 * the shim sets errno to ENOMEM); what it rejects as an error (a pointer that is not a live block,
 * a debug hook's failed check) is thrown through the module's frames to whoever called into it.
 */
import { describeValue, ErrorCode, TsmallocError } from "@tsmalloc/memory";
import { Domain, isDomain, Runtime } from "@tsmalloc/registry";
import { AlignedBlocks, type DomainCalls } from "./aligned-blocks.ts";

/** The import module the shim's functions come from. */
export const ALLOCATOR_IMPORT_MODULE = "tsmalloc";

/** Every function name of the {@link ALLOCATOR_IMPORT_MODULE} import module, in the shim's order. */
export const ALLOCATOR_IMPORT_NAMES: readonly string[] = [
  "malloc",
  "calloc",
  "realloc",
  "free",
  "aligned_alloc",
  "usable_size",
  "raw_malloc",
  "raw_calloc",
  "raw_realloc",
  "raw_free",
  "mem_malloc",
  "mem_calloc",
  "mem_realloc",
  "mem_free",
  "obj_malloc",
  "obj_calloc",
  "obj_realloc",
  "obj_free",
];

/**
 * The functions of the "tsmalloc" import module. Every argument is a wasm32 `i32` (a `size_t` or
 * a pointer, which arrives signed); every result is an address or a size below 2^32.
 */
export interface AllocatorImports {
  /** `malloc(size)` on the chosen domain. */
  readonly malloc: (size: number) => number;
  /** `calloc(nelem, elsize)`; the product is checked without wrapping. */
  readonly calloc: (nelem: number, elsize: number) => number;
  /** `realloc(ptr, size)`, over-aligned blocks included. */
  readonly realloc: (ptr: number, size: number) => number;
  /** `free(ptr)`, over-aligned blocks included. */
  readonly free: (ptr: number) => void;
  /** `aligned_alloc(alignment, size)`: 0 unless `alignment` is a power of two. */
  readonly aligned_alloc: (alignment: number, size: number) => number;
  /** `malloc_usable_size(ptr)`: the domain allocator's `usableSize` (the requested size under debug hooks). */
  readonly usable_size: (ptr: number) => number;
  /** `PyMem_RawMalloc` and the rest of CPython's entry points, each on its own domain. */
  readonly raw_malloc: (size: number) => number;
  readonly raw_calloc: (nelem: number, elsize: number) => number;
  readonly raw_realloc: (ptr: number, size: number) => number;
  readonly raw_free: (ptr: number) => void;
  readonly mem_malloc: (size: number) => number;
  readonly mem_calloc: (nelem: number, elsize: number) => number;
  readonly mem_realloc: (ptr: number, size: number) => number;
  readonly mem_free: (ptr: number) => void;
  readonly obj_malloc: (size: number) => number;
  readonly obj_calloc: (nelem: number, elsize: number) => number;
  readonly obj_realloc: (ptr: number, size: number) => number;
  readonly obj_free: (ptr: number) => void;
}

/** A domain's four entry points, taking wasm32 arguments. */
function domainCalls(runtime: Runtime, domain: Domain): DomainCalls {
  switch (domain) {
    case Domain.RAW:
      return {
        malloc: (size: number): number => runtime.rawMalloc(size >>> 0),
        calloc: (nelem: number, elsize: number): number => runtime.rawCalloc(nelem >>> 0, elsize >>> 0),
        realloc: (ptr: number, size: number): number => runtime.rawRealloc(ptr >>> 0, size >>> 0),
        free: (ptr: number): void => runtime.rawFree(ptr >>> 0),
      };
    case Domain.MEM:
      return {
        malloc: (size: number): number => runtime.memMalloc(size >>> 0),
        calloc: (nelem: number, elsize: number): number => runtime.memCalloc(nelem >>> 0, elsize >>> 0),
        realloc: (ptr: number, size: number): number => runtime.memRealloc(ptr >>> 0, size >>> 0),
        free: (ptr: number): void => runtime.memFree(ptr >>> 0),
      };
    default:
      return {
        malloc: (size: number): number => runtime.objMalloc(size >>> 0),
        calloc: (nelem: number, elsize: number): number => runtime.objCalloc(nelem >>> 0, elsize >>> 0),
        realloc: (ptr: number, size: number): number => runtime.objRealloc(ptr >>> 0, size >>> 0),
        free: (ptr: number): void => runtime.objFree(ptr >>> 0),
      };
  }
}

/**
 * The functions a module built with `c/tsmalloc-shim.c` imports from "tsmalloc", served by
 * `runtime`: `malloc`, `calloc`, `realloc`, `free`, `aligned_alloc` and `usable_size` on `domain`,
 * and `raw_*`, `mem_*`, `obj_*` on RAW, MEM and OBJ (`PyMem_RawMalloc`, `PyMem_Malloc`,
 * `PyObject_Malloc`, …). For those who instantiate a module themselves:
 *
 * ```ts
 * const instance = await WebAssembly.instantiate(module, {
 *   env: { memory: wasmMemory },            // the memory under runtime.memory, base past __heap_base
 *   tsmalloc: allocatorImports(runtime),
 *   wasi_snapshot_preview1: wasi.wasiImport,
 * });
 * ```
 *
 * The runtime's memory must be the module's memory, with its base at or past the module's
 * `__heap_base` (see `instantiate`, which lays it out). Each call returns new functions, with
 * their own table of over-aligned blocks.
 *
 * @param domain the domain of the C library's functions; default MEM (C's malloc is
 *   `PyMem_Malloc`'s peer: CPython serves its own buffers from MEM)
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when `runtime` is not a Runtime or
 *   `domain` is not a Domain
 */
export function allocatorImports(runtime: Runtime, domain: Domain = Domain.MEM): AllocatorImports {
  if (!(runtime instanceof Runtime)) {
    throw new TsmallocError(ErrorCode.InvalidOption, `allocatorImports: runtime must be a Runtime (from createRuntime), got ${describeValue(runtime)}`);
  }
  if (!isDomain(domain)) {
    throw new TsmallocError(ErrorCode.InvalidOption, `allocatorImports: domain must be "raw", "mem" or "obj" (Domain.RAW, Domain.MEM, Domain.OBJ), got ${describeValue(domain)}`);
  }
  const raw = domainCalls(runtime, Domain.RAW);
  const mem = domainCalls(runtime, Domain.MEM);
  const obj = domainCalls(runtime, Domain.OBJ);
  const calls = domain === Domain.RAW ? raw : domain === Domain.MEM ? mem : obj;
  const blocks = new AlignedBlocks(calls, () => runtime.memory.u8);

  const usableSize = (ptr: number): number => {
    const allocator = runtime.getAllocator(domain);
    if (typeof allocator.usableSize !== "function") {
      throw new TsmallocError(ErrorCode.InvalidOption, `malloc_usable_size: the ${domain.toUpperCase()} domain's allocator "${allocator.name}" cannot size its blocks`);
    }
    return allocator.usableSize(ptr);
  };

  return {
    malloc: calls.malloc,
    calloc: calls.calloc,
    realloc: (ptr: number, size: number): number => {
      if (blocks.count !== 0) {
        const base = blocks.baseOf(ptr >>> 0);
        if (base >= 0) return blocks.reallocate(ptr >>> 0, size >>> 0, usableSize(base) - ((ptr >>> 0) - base));
      }
      return calls.realloc(ptr, size);
    },
    free: (ptr: number): void => {
      if (blocks.count !== 0 && blocks.free(ptr >>> 0)) return;
      calls.free(ptr);
    },
    aligned_alloc: (alignment: number, size: number): number => blocks.allocate(alignment >>> 0, size >>> 0),
    usable_size: (ptr: number): number => {
      const p = ptr >>> 0;
      if (blocks.count !== 0) {
        const base = blocks.baseOf(p);
        if (base >= 0) return usableSize(base) - (p - base);
      }
      return usableSize(p);
    },
    raw_malloc: raw.malloc,
    raw_calloc: raw.calloc,
    raw_realloc: raw.realloc,
    raw_free: raw.free,
    mem_malloc: mem.malloc,
    mem_calloc: mem.calloc,
    mem_realloc: mem.realloc,
    mem_free: mem.free,
    obj_malloc: obj.malloc,
    obj_calloc: obj.calloc,
    obj_realloc: obj.realloc,
    obj_free: obj.free,
  };
}
