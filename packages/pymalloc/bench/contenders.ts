/*
 * The contenders of the pymalloc benchmarks, each made fresh for every run (see
 * @tsmalloc/trace's bench harness): pymalloc over tsmalloc's Malloc (CPython's default
 * configuration: pymalloc for small blocks, malloc for the rest), the same with pointer checks
 * off, Malloc alone, and what a JavaScript user would pick otherwise: @thi.ng/malloc's MemPool on
 * one large buffer, and a `new Uint8Array(size)` per block that the garbage collector frees.
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { type ContenderFactory, ThingPoolTarget, TypedArraysTarget } from "@tsmalloc/testkit";

export const contenders: Record<string, ContenderFactory> = {
  "tsmalloc pymalloc": () => new Pymalloc(new Malloc(new LinearMemory())),
  "pymalloc, checks off": () => new Pymalloc(new Malloc(new LinearMemory()), { checks: false }),
  "pymalloc, shared": () => new Pymalloc(new Malloc(new LinearMemory({ shared: true }))),
  "tsmalloc malloc": () => new Malloc(new LinearMemory()),
  "@thi.ng/malloc MemPool": () => new ThingPoolTarget(),
  "new Uint8Array": () => new TypedArraysTarget(),
};
