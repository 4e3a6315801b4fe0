/*
 * The contenders of the malloc benchmarks, each made fresh for every run (see
 * @tsmalloc/trace's bench harness): tsmalloc's Malloc, and what a JavaScript user would pick
 * otherwise: @thi.ng/malloc's MemPool on one large buffer, and a `new Uint8Array(size)` per block
 * that the garbage collector frees.
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { type ContenderFactory, ThingPoolTarget, TypedArraysTarget } from "@tsmalloc/testkit";

export const contenders: Record<string, ContenderFactory> = {
  "tsmalloc malloc": () => new Malloc(new LinearMemory()),
  // the same heap on a shared memory: every call takes the heap's lock (uncontended here)
  "tsmalloc malloc, shared": () => new Malloc(new LinearMemory({ shared: true })),
  // the same heap on each backing a LinearMemory can have (256 MiB is plenty for the churn)
  "WebAssembly.Memory": () => new Malloc(new LinearMemory()),
  "shared WebAssembly.Memory": () => new Malloc(new LinearMemory({ shared: true })),
  "fixed ArrayBuffer": () => new Malloc(new LinearMemory({ buffer: new ArrayBuffer(256 << 20) })),
  "resizable ArrayBuffer": () => new Malloc(new LinearMemory({ buffer: new ArrayBuffer(1 << 20, { maxByteLength: 256 << 20 }) })),
  "growable SharedArrayBuffer": () => new Malloc(new LinearMemory({ buffer: new SharedArrayBuffer(1 << 20, { maxByteLength: 256 << 20 }) })),
  "@thi.ng/malloc MemPool": () => new ThingPoolTarget(),
  "new Uint8Array": () => new TypedArraysTarget(),
};
