import type { Allocator } from "@tsmalloc/memory";
import { type Domain, type Runtime, WrappingAllocator } from "@tsmalloc/registry";

/** What a hook tells its tracer. @internal */
export interface TraceSink {
  /**
   * True while a traced call is in progress in this thread (CPython's reentrant flag): calls made
   * inside it (pymalloc's requests to the RAW domain for a large MEM block) are not traced again.
   */
  reentrant: boolean;
  /** A block was allocated (or moved by realloc) by a call of `entry`, a hook method on the stack. */
  added(address: number, size: number, entry: unknown, slack: number): void;
  /** A traced block may be gone. */
  removed(address: number): void;
  /**
   * This thread is about to free or resize the block at `address` (free-threading: a block this
   * tracer did not trace is announced to the other tracers first, see remote-frees.ts).
   */
  releasing(address: number): void;
}

/**
 * Frames a capture allows between the hook and the caller's code: the Runtime method and the
 * package's function of the same name when the hook is what the domain calls; more when another
 * hook wraps it (debug hooks installed after tracing started, fault injection, your own).
 */
const SLACK_ON_TOP = 2;
const SLACK_WRAPPED = 16;

/**
 * The allocator tracemalloc installs in a domain (CPython's `tracemalloc_malloc_gil` & co.): it
 * calls the allocator the domain had, then records the trace. A NULL result is never traced, a
 * failed realloc keeps the old trace, a realloc moves it, a free drops it (after the free went
 * through: a free the allocator refuses keeps its trace). Calls made while another traced call
 * is in progress pass straight through. Once stopped, it passes every call through.
 * @internal
 */
export class TraceHook extends WrappingAllocator {
  readonly name: string = "tracemalloc";
  /** The domain the hook was installed in. */
  readonly domain: Domain;
  readonly #sink: TraceSink;
  readonly #runtime: Runtime;
  #active = true;

  /** @param wrapped the allocator the domain had when tracing started; `stop()` puts it back */
  constructor(sink: TraceSink, runtime: Runtime, domain: Domain, wrapped: Allocator) {
    super(wrapped);
    this.#sink = sink;
    this.#runtime = runtime;
    this.domain = domain;
  }

  /** False once its tracer stopped: every call then passes straight through. */
  get active(): boolean {
    return this.#active;
  }

  /** Turns the hook into a plain pass-through (stop() for a hook it cannot take out: another wraps it). */
  deactivate(): void {
    this.#active = false;
  }

  malloc(size: number): number {
    const sink = this.#sink;
    if (!this.#active || sink.reentrant) return this.wrapped.malloc(size);
    sink.reentrant = true;
    let p: number;
    try {
      p = this.wrapped.malloc(size);
    } finally {
      sink.reentrant = false;
    }
    if (p !== 0) sink.added(p, size, TraceHook.prototype.malloc, this.#slack());
    return p;
  }

  calloc(nelem: number, elsize: number): number {
    const sink = this.#sink;
    if (!this.#active || sink.reentrant) return this.wrapped.calloc(nelem, elsize);
    sink.reentrant = true;
    let p: number;
    try {
      p = this.wrapped.calloc(nelem, elsize);
    } finally {
      sink.reentrant = false;
    }
    if (p !== 0) sink.added(p, nelem * elsize, TraceHook.prototype.calloc, this.#slack());
    return p;
  }

  realloc(ptr: number, size: number): number {
    const sink = this.#sink;
    if (!this.#active || sink.reentrant) return this.wrapped.realloc(ptr, size);
    if (ptr !== 0) sink.releasing(ptr);
    sink.reentrant = true;
    let moved: number;
    try {
      moved = this.wrapped.realloc(ptr, size);
    } finally {
      sink.reentrant = false;
    }
    if (moved === 0) return 0; // the old block, and its trace, stay
    if (ptr !== 0 && moved !== ptr) sink.removed(ptr);
    sink.added(moved, size, TraceHook.prototype.realloc, this.#slack());
    return moved;
  }

  free(ptr: number): void {
    const sink = this.#sink;
    if (ptr === 0 || !this.#active || sink.reentrant) {
      this.wrapped.free(ptr);
      return;
    }
    sink.releasing(ptr);
    // a free may allocate too: a free-threaded runtime's first call in a thread makes its heaps
    sink.reentrant = true;
    try {
      this.wrapped.free(ptr);
    } finally {
      sink.reentrant = false;
    }
    sink.removed(ptr);
  }

  #slack(): number {
    return this.#runtime.getAllocator(this.domain) === this ? SLACK_ON_TOP : SLACK_WRAPPED;
  }
}
