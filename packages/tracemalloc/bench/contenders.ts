/*
 * The contenders of the tracemalloc benchmark, each made fresh for every run (see
 * @tsmalloc/trace's bench harness): a default runtime's MEM domain untraced; the same with a
 * hook that only makes V8 capture the window a 1-frame trace captures, where the tracer captures
 * it (3 frames, call sites not read): the floor of any tracer built on V8's stack API; then traced
 * with 1 and with 10 frames; then a free-threaded runtime traced with 1 frame, its blocks freed
 * by the thread that allocated them or by another (FreeThreadedMemDomain). Every
 * call goes through the same ten nested functions, so that a 10-frame traceback has ten frames of
 * this file to capture and the untraced column pays the same calls.
 */
import { type Allocator, LinearMemory } from "@tsmalloc/memory";
import { attachRuntime, createRuntime, Domain, type Runtime } from "@tsmalloc/registry";
import type { ContenderFactory, ReplayTarget } from "@tsmalloc/testkit";
import { createTracemalloc } from "@tsmalloc/tracemalloc";

function d10(runtime: Runtime, size: number): number {
  return runtime.memMalloc(size);
}
function d9(runtime: Runtime, size: number): number {
  return d10(runtime, size);
}
function d8(runtime: Runtime, size: number): number {
  return d9(runtime, size);
}
function d7(runtime: Runtime, size: number): number {
  return d8(runtime, size);
}
function d6(runtime: Runtime, size: number): number {
  return d7(runtime, size);
}
function d5(runtime: Runtime, size: number): number {
  return d6(runtime, size);
}
function d4(runtime: Runtime, size: number): number {
  return d5(runtime, size);
}
function d3(runtime: Runtime, size: number): number {
  return d4(runtime, size);
}
function d2(runtime: Runtime, size: number): number {
  return d3(runtime, size);
}
function d1(runtime: Runtime, size: number): number {
  return d2(runtime, size);
}

class MemDomain implements ReplayTarget {
  readonly runtime: Runtime;
  constructor(nframe: number) {
    this.runtime = createRuntime();
    if (nframe > 0) createTracemalloc(this.runtime).start(nframe);
  }
  malloc(size: number): number {
    return d1(this.runtime, size);
  }
  calloc(nelem: number, elsize: number): number {
    return this.runtime.memCalloc(nelem, elsize);
  }
  realloc(p: number, size: number): number {
    return this.runtime.memRealloc(p, size);
  }
  free(p: number): void {
    this.runtime.memFree(p);
  }
}

/**
 * A free-threaded runtime in two heap slots of this thread (a runtime attached here is a thread
 * of its own, as a worker's would be), each traced with 1 frame by its own tracer when `traced`:
 * every block is allocated through the first; with `remote`, freed through the second, so every
 * free is a remote free of a block the freeing tracer did not trace (announced to the first
 * tracer, which reads it before its next trace). Untraced, the same pairs give what the remote
 * free itself costs the allocator.
 */
class FreeThreadedMemDomain implements ReplayTarget {
  readonly owner: Runtime;
  readonly freer: Runtime;
  constructor(remote: boolean, traced: boolean) {
    const memory = new LinearMemory({ shared: true });
    this.owner = createRuntime({ memory, freeThreading: true });
    this.freer = remote ? attachRuntime(LinearMemory.attach(memory.source)) : this.owner;
    if (traced) {
      createTracemalloc(this.owner).start(1);
      createTracemalloc(this.freer).start(1);
    }
  }
  malloc(size: number): number {
    return d1(this.owner, size);
  }
  calloc(nelem: number, elsize: number): number {
    return this.owner.memCalloc(nelem, elsize);
  }
  realloc(p: number, size: number): number {
    return this.owner.memRealloc(p, size);
  }
  free(p: number): void {
    this.freer.memFree(p);
  }
}

const V8Error = Error as { stackTraceLimit: number; prepareStackTrace?: unknown; captureStackTrace(target: object, entry?: unknown): void };
const countSites = (_holder: unknown, sites: unknown[]): number => sites.length;

/**
 * What V8 alone costs where a tracer captures: a MEM hook that captures the window of a 1-frame
 * trace (3 frames) from inside the allocation, as the tracer's hook does, and reads nothing.
 */
class CaptureHook implements Allocator {
  readonly name = "capture";
  readonly memory: LinearMemory;
  readonly #wrapped: Allocator;
  readonly #holder: { stack?: unknown } = {};
  constructor(wrapped: Allocator) {
    this.#wrapped = wrapped;
    this.memory = wrapped.memory;
  }
  malloc(size: number): number {
    const p = this.#wrapped.malloc(size);
    const limit = V8Error.stackTraceLimit;
    const prepare = V8Error.prepareStackTrace;
    V8Error.stackTraceLimit = 3;
    V8Error.prepareStackTrace = countSites;
    V8Error.captureStackTrace(this.#holder, CaptureHook.prototype.malloc);
    const sites = this.#holder.stack as number;
    V8Error.stackTraceLimit = limit;
    V8Error.prepareStackTrace = prepare;
    return sites > 0 ? p : 0;
  }
  calloc(nelem: number, elsize: number): number {
    return this.#wrapped.calloc(nelem, elsize);
  }
  realloc(ptr: number, size: number): number {
    return this.#wrapped.realloc(ptr, size);
  }
  free(ptr: number): void {
    this.#wrapped.free(ptr);
  }
}

export const contenders: Record<string, ContenderFactory> = {
  untraced: () => new MemDomain(0),
  "V8 capture alone": () => {
    const target = new MemDomain(0);
    target.runtime.setAllocator(Domain.MEM, new CaptureHook(target.runtime.getAllocator(Domain.MEM)));
    return target;
  },
  "traced, 1 frame": () => new MemDomain(1),
  "traced, 10 frames": () => new MemDomain(10),
  "free-threaded, own frees": () => new FreeThreadedMemDomain(false, false),
  "free-threaded, remote frees": () => new FreeThreadedMemDomain(true, false),
  "free-threaded, traced, own frees": () => new FreeThreadedMemDomain(false, true),
  "free-threaded, traced, remote frees": () => new FreeThreadedMemDomain(true, true),
};
