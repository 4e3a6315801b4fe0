/*
 * The contenders of the debug-hook benchmarks, each made fresh for every run (see
 * @tsmalloc/trace's bench harness): a bare allocator, and the same allocator inside the hooks
 * with each option that costs something.
 */
import { withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import type { ContenderFactory } from "@tsmalloc/testkit";
import { FillsAlone } from "./fills-alone.ts";

export const contenders: Record<string, ContenderFactory> = {
  malloc: () => new Malloc(new LinearMemory()),
  // the floor: nothing but the 0xCD and 0xDD fills the hooks must write (see fills-alone.ts)
  "malloc + fills alone": () => new FillsAlone(new Malloc(new LinearMemory())),
  // MEM hooks: the thread check is one more field test than RAW's
  "malloc + hooks": () => withDebugHooks(new Malloc(new LinearMemory()), { api: "m" }),
  "malloc + hooks, serial numbers": () => withDebugHooks(new Malloc(new LinearMemory()), { api: "m", serialNumbers: true }),
  "malloc + hooks, tracebacks 5": () => withDebugHooks(new Malloc(new LinearMemory()), { api: "m", tracebacks: 5 }),
  // the same on a shared memory, where Malloc takes its lock and the serial counter is atomic
  "shared malloc": () => new Malloc(new LinearMemory({ shared: true })),
  "shared malloc + hooks": () => withDebugHooks(new Malloc(new LinearMemory({ shared: true })), { api: "r" }),
  // pymalloc over malloc, bare and inside OBJ hooks (PYTHONMALLOC=pymalloc vs the OBJ domain of
  // pymalloc_debug; the 24 bytes of header and trailer move each request up two size classes)
  pymalloc: () => new Pymalloc(new Malloc(new LinearMemory())),
  "pymalloc + hooks": () => withDebugHooks(new Pymalloc(new Malloc(new LinearMemory())), { api: "o" }),
};
