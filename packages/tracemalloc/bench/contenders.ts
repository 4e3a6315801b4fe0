/*
 * The contenders of the tracemalloc benchmark, each made fresh for every run (see
 * @tsmalloc/testkit's bench harness): a default runtime's MEM domain untraced; the same with a
 * bare V8 stack capture of the window a 1-frame trace captures (3 frames, call sites not read):
 * the floor of any tracer built on V8's stack API; then traced with 1 and with 10 frames. Every
 * call goes through the same ten nested functions, so that a 10-frame traceback has ten frames of
 * this file to capture and the untraced column pays the same calls.
 */
import { createRuntime, type Runtime } from "@tsmalloc/registry";
import type { BenchTarget, ContenderFactory } from "@tsmalloc/testkit";
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

class MemDomain implements BenchTarget {
  readonly #runtime: Runtime;
  constructor(nframe: number) {
    this.#runtime = createRuntime();
    if (nframe > 0) createTracemalloc(this.#runtime).start(nframe);
  }
  malloc(size: number): number {
    return d1(this.#runtime, size);
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
}

const V8Error = Error as { stackTraceLimit: number; prepareStackTrace?: unknown; captureStackTrace(target: object, entry?: unknown): void };
const countSites = (_holder: unknown, sites: unknown[]): number => sites.length;

/** The untraced runtime, plus what V8 alone costs for the stack a 1-frame trace captures. */
class CaptureOnly extends MemDomain {
  readonly #holder: { stack?: unknown } = {};
  override malloc(size: number): number {
    const p = super.malloc(size);
    const limit = V8Error.stackTraceLimit;
    const prepare = V8Error.prepareStackTrace;
    V8Error.stackTraceLimit = 3;
    V8Error.prepareStackTrace = countSites;
    V8Error.captureStackTrace(this.#holder, CaptureOnly.prototype.malloc);
    const sites = this.#holder.stack as number;
    V8Error.stackTraceLimit = limit;
    V8Error.prepareStackTrace = prepare;
    return sites > 0 ? p : 0;
  }
}

export const contenders: Record<string, ContenderFactory> = {
  untraced: () => new MemDomain(0),
  "V8 capture alone": () => new CaptureOnly(0),
  "traced, 1 frame": () => new MemDomain(1),
  "traced, 10 frames": () => new MemDomain(10),
};
