/*
 * Where the hooks' report gets a block's allocation traceback from when their own `tracebacks`
 * option is off: a tracer of the memory (`@tsmalloc/tracemalloc`) registers itself here while it
 * traces, and the report asks it, as CPython's `_PyObject_DebugDumpAddress` is followed by
 * `_PyMem_DumpTraceback`, which asks tracemalloc. The hooks know nothing of the tracer but this
 * interface, so the dependency points one way: the tracer depends on the hooks, never the reverse.
 *
 * Providers are kept per thread (per JavaScript realm), keyed by the memory's source: a tracer
 * answers for the calls of its own thread, as each worker traces its own calls.
 */
import type { LinearMemory } from "@tsmalloc/memory";
import { optionError } from "./errors.ts";
import { isLinearMemory } from "./options.ts";
import type { TracebackFrame } from "./traceback.ts";

/**
 * A source of allocation tracebacks for the debug hooks' reports (what CPython's
 * `_PyMem_DumpTraceback` asks tracemalloc).
 */
export interface TracebackProvider {
  /**
   * Where the block at `address` was allocated, most recent call first.
   *
   * @returns the frames; `undefined` when the provider is tracing but did not trace a block at
   *   `address` (the report then prints nothing, as CPython does for an untraced block); `null`
   *   when it is not tracing (the report then says `Enable tracemalloc to get the memory block
   *   allocation traceback`). Called while a report is made: it must not throw (a provider that
   *   throws counts as not tracing) and must not allocate from the memory.
   */
  allocationTraceback(address: number): readonly TracebackFrame[] | null | undefined;
}

/** This thread's providers: memory source -> providers, in the order they were registered. */
const providers = new WeakMap<object, Set<TracebackProvider>>();

/**
 * Makes the debug hooks over `memory` ask `provider` for the allocation traceback of a block they
 * report, in this thread. Several providers may serve one memory (several runtimes in it): the
 * first one that traced the block is used.
 *
 * @returns a function that removes the registration (calling it again does nothing)
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `memory` is a LinearMemory
 *   and `provider` has an `allocationTraceback` method
 */
export function registerTracebackProvider(memory: LinearMemory, provider: TracebackProvider): () => void {
  if (!isLinearMemory(memory)) throw optionError("registerTracebackProvider", "memory must be a LinearMemory", memory);
  if (typeof provider !== "object" || provider === null || typeof provider.allocationTraceback !== "function") {
    throw optionError("registerTracebackProvider", "provider must have an allocationTraceback(address) method", provider);
  }
  const source = memory.source;
  let set = providers.get(source);
  if (set === undefined) {
    set = new Set();
    providers.set(source, set);
  }
  set.add(provider);
  const registered = set;
  return () => {
    registered.delete(provider);
  };
}

/**
 * What the providers of the memory backed by `source` say about the block whose data is at `p`:
 * the frames of the first that traced it; `undefined` when one traces but none traced it; `null`
 * when none traces (or there are none). A tracer installed under the hooks (tracing started
 * before `setupDebugHooks`) saw the hooks' own request, whose block starts `headerBytes` (the
 * layout's header: 16 bytes, 8 on wasm32) lower, so that address is asked too.
 * @internal
 */
export function providedTraceback(source: object, p: number, headerBytes: number): readonly TracebackFrame[] | null | undefined {
  const set = providers.get(source);
  if (set === undefined || set.size === 0) return null;
  let tracing = false;
  for (const address of [p, p - headerBytes]) {
    for (const provider of set) {
      let frames: readonly TracebackFrame[] | null | undefined;
      try {
        frames = provider.allocationTraceback(address);
      } catch {
        frames = null;
      }
      if (frames === null) continue;
      tracing = true;
      if (frames !== undefined) return frames;
    }
  }
  return tracing ? undefined : null;
}
