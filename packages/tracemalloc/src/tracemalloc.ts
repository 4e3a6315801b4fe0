import { registerTracebackProvider, type TracebackFrame, type TracebackProvider } from "@tsmalloc/debug";
import { describeValue, ErrorCode, isAddress, TsmallocError } from "@tsmalloc/memory";
import { DOMAINS, Runtime } from "@tsmalloc/registry";
import { optionError, requireDomainNumber, requireNframe } from "./errors.ts";
import { FreedBlocks } from "./freed-blocks.ts";
import { RemoteFrees, type RemoteFreeSink } from "./remote-frees.ts";
import { Snapshot } from "./snapshot.ts";
import { StackCapture } from "./stack-capture.ts";
import { DEFAULT_DOMAIN, Trace } from "./trace.ts";
import { TraceHook, type TraceSink } from "./trace-hook.ts";
import { TraceTable } from "./trace-table.ts";
import type { Traceback } from "./traceback.ts";

/** Frames a trackExternal capture allows before the caller: the package's function of the same name. */
const SLACK_TRACK = 1;

/**
 * Everything a tracer keeps while it traces (CPython's `_PyRuntime.tracemalloc`): the traces of
 * each domain, the interned frames and tracebacks, the traced memory and its peak, and the
 * reentrant flag. One per tracer, so one per runtime (and so per worker); none of it is shared
 * but, in a free-threaded runtime, the queue through which other threads' tracers report the
 * frees of blocks this one traced (`remote`, see remote-frees.ts).
 */
class TracerState implements TraceSink, RemoteFreeSink {
  reentrant = false;
  tracing = false;
  readonly capture: StackCapture = new StackCapture();
  /** Traces of DEFAULT_DOMAIN: the blocks of the RAW, MEM and OBJ domains. */
  traces: TraceTable = new TraceTable();
  /** Traces of the other domains (trackExternal). */
  domains: Map<number, TraceTable> = new Map();
  /** The allocation tracebacks of the DEFAULT_DOMAIN blocks freed last, for a use after free's report. */
  freed: FreedBlocks = new FreedBlocks();
  traced = 0;
  peak = 0;
  /** Free-threaded runtime: this tracer's registration among the runtime's tracers; else null. */
  remote: RemoteFrees | null = null;
  /** Frees by other threads that could not be queued for this tracer since the traces were last cleared. */
  lost = 0;

  added(address: number, size: number, entry: unknown, slack: number): void {
    // a block freed elsewhere at this address must lose its trace before the new one is recorded
    const remote = this.remote;
    if (remote !== null && remote.pending) remote.drain(this);
    this.add(this.traces, address, size, this.capture.capture(entry, slack));
  }

  removed(address: number): void {
    const traces = this.traces;
    const size = traces.delete(address);
    if (size >= 0) {
      this.traced -= size;
      this.freed.remember(address, traces.deletedTraceback);
    }
  }

  releasing(address: number): void {
    const remote = this.remote;
    if (remote === null) return;
    // a stale trace (of a block another thread freed, now reallocated elsewhere) must not pass
    // for this tracer's own: drain first, then decide
    if (remote.pending) remote.drain(this);
    if (this.traces.find(address) < 0) remote.tellOthers(address);
  }

  freedRemotely(address: number): void {
    this.removed(address);
  }

  lostRemotely(count: number): void {
    this.lost += count;
  }

  /** Takes in what other threads freed (free-threading): before every answer about the traces. */
  sync(): void {
    const remote = this.remote;
    if (remote !== null && remote.pending) remote.drain(this);
  }

  add(table: TraceTable, address: number, size: number, traceback: number): void {
    const old = table.set(address, size, traceback);
    this.traced += old < 0 ? size : size - old;
    if (this.traced > this.peak) this.peak = this.traced;
  }

  clear(): void {
    this.traces = new TraceTable();
    this.domains = new Map();
    this.freed = new FreedBlocks();
    this.capture.clear();
    this.traced = 0;
    this.peak = 0;
    this.lost = 0;
    this.remote?.clear();
  }

  /**
   * The debug hooks' question about the DEFAULT_DOMAIN block at `address`: its frames (those of
   * a block freed lately, for a use after free, when it is not live); undefined when it is not
   * traced but is this runtime's (CPython prints nothing then); null when not tracing, or when
   * the block belongs to no allocator of this runtime (another runtime's in the same memory, whose
   * tracer must answer).
   */
  reportFrames(runtime: Runtime, address: number): TracebackFrame[] | null | undefined {
    if (!this.tracing) return null;
    this.sync();
    const slot = this.traces.find(address);
    if (slot >= 0) return this.capture.reportFrames(this.traces.tracebackAt(slot));
    for (const domain of DOMAINS) {
      const allocator = runtime.getAllocator(domain);
      if (typeof allocator.owns === "function" && allocator.owns(address)) {
        const freed = this.freed.traceback(address);
        return freed >= 0 ? this.capture.reportFrames(freed) : undefined;
      }
    }
    return null;
  }
}

/** Each runtime's tracer, made on first request (one per runtime, as CPython has one per process). */
const tracers = new WeakMap<Runtime, Tracemalloc>();

/**
 * CPython's tracemalloc for one runtime: while it traces, every block the runtime's RAW, MEM and
 * OBJ domains hand out is recorded with its requested size and the JavaScript stack that asked for
 * it, until it is freed. Snapshots then tell which lines hold the memory and what grew. Get it with
 * {@link createTracemalloc}; the package's functions (`start`, `takeSnapshot`, …) are those of the
 * default runtime's.
 *
 * `start()` wraps each domain's allocator through the registry's `getAllocator` / `setAllocator`,
 * as CPython's `PyMem_SetAllocator`; `stop()` puts back exactly what was there.
 *
 * @example
 * ```ts
 * const tracer = createTracemalloc(runtime);
 * tracer.start();
 * const before = tracer.takeSnapshot();
 * work(runtime);
 * for (const diff of tracer.takeSnapshot().compareTo(before, "lineno").slice(0, 3)) console.log(String(diff));
 * ```
 */
export class Tracemalloc {
  /** The runtime whose domains are traced. */
  readonly runtime: Runtime;
  readonly #state: TracerState = new TracerState();
  #hooks: TraceHook[] = [];
  #unregister: (() => void) | null = null;
  #unsubscribeClose: (() => void) | null = null;
  readonly #provider: TracebackProvider;

  private constructor(runtime: Runtime) {
    this.runtime = runtime;
    const state = this.#state;
    this.#provider = { allocationTraceback: (address: number) => state.reportFrames(runtime, address) };
  }

  /** @internal */
  static of(runtime: Runtime): Tracemalloc {
    if (!(runtime instanceof Runtime)) throw optionError("createTracemalloc", "runtime must be a Runtime (from createRuntime or attachRuntime)", runtime);
    let tracer = tracers.get(runtime);
    if (tracer === undefined) {
      tracer = new Tracemalloc(runtime);
      tracers.set(runtime, tracer);
    }
    return tracer;
  }

  /**
   * Starts tracing (CPython's `tracemalloc.start(nframe)`): installs a hook on RAW, then MEM, then
   * OBJ, each wrapping the allocator the domain has now, and keeps up to `nframe` frames per
   * traceback. Does nothing when already tracing (the limit stays as it is), as in CPython.
   * While tracing, the debug hooks' reports over this memory end with the damaged block's
   * allocation traceback.
   *
   * In a free-threaded runtime the tracer also registers among the runtime's tracers in the
   * shared memory, so that a block it traced and another worker's tracer frees or resizes leaves
   * its traces; `runtime.close()` in this thread stops it.
   *
   * @param nframe frames per traceback, 1 to 65535
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `nframe` is an integer from
   *   1 to 65535 (checked even when tracing already). Free-threaded runtime only, nothing started
   *   then: `ERR_TSMALLOC_OUT_OF_MEMORY` when the memory cannot hold the table of shared tracers,
   *   `ERR_TSMALLOC_THREAD_LIMIT` when that table is full (2046 tracers), `ERR_TSMALLOC_INCOMPATIBLE`
   *   when the memory holds a table of another layout
   */
  start(nframe: number = 1): void {
    requireNframe(nframe, "start");
    const state = this.#state;
    if (state.tracing) return;
    const runtime = this.runtime;
    const slots = runtime.heapSlots;
    if (slots !== null) {
      // free-threaded: register among the runtime's tracers, under this thread's heap slot (a
      // thread that closed the runtime holds none until its next call: take one now)
      if (runtime.threadSlot === 0) void runtime.mallocHeap;
      state.remote = RemoteFrees.register(runtime, slots, runtime.threadSlot);
      this.#unsubscribeClose = runtime.onClose(() => this.stop());
    }
    state.capture.nframe = nframe;
    const hooks: TraceHook[] = [];
    for (const domain of DOMAINS) {
      const hook = new TraceHook(state, runtime, domain, runtime.getAllocator(domain));
      runtime.setAllocator(domain, hook);
      hooks.push(hook);
    }
    this.#hooks = hooks;
    state.tracing = true;
    this.#unregister = registerTracebackProvider(runtime.memory, this.#provider);
  }

  /**
   * Stops tracing (CPython's `tracemalloc.stop()`): gives each domain back the allocator it had
   * when tracing started, and forgets every trace. A hook that another allocator wraps by now
   * (installed later with `setAllocator`, `setNoMemory` or `setupDebugHooks`) cannot be taken out
   * from under it: it stays in place and passes every call through. Does nothing when not tracing.
   */
  stop(): void {
    const state = this.#state;
    if (!state.tracing) return;
    state.tracing = false;
    for (const hook of this.#hooks) {
      hook.deactivate();
      if (this.runtime.getAllocator(hook.domain) === hook) this.runtime.setAllocator(hook.domain, hook.wrapped);
    }
    this.#hooks = [];
    this.#unregister?.();
    this.#unregister = null;
    this.#unsubscribeClose?.();
    this.#unsubscribeClose = null;
    state.remote?.unregister();
    state.remote = null;
    state.clear();
  }

  /** True while tracing (CPython's `is_tracing()`). */
  isTracing(): boolean {
    return this.#state.tracing;
  }

  /**
   * Forgets every trace, frame and traceback, and sets the traced memory and its peak to 0
   * (CPython's `clear_traces()`); tracing goes on. Does nothing when not tracing.
   */
  clearTraces(): void {
    if (this.#state.tracing) this.#state.clear();
  }

  /**
   * The most frames a traceback keeps (CPython's `get_traceback_limit()`): the `nframe` of the
   * last `start`; 1 before any.
   */
  getTracebackLimit(): number {
    return this.#state.capture.nframe;
  }

  /**
   * CPython's `get_traced_memory()`: the requested bytes of the traced blocks now, and their
   * peak since tracing started, the traces were cleared or the peak was reset.
   * @returns `[current, peak]`; `[0, 0]` when not tracing
   */
  getTracedMemory(): [current: number, peak: number] {
    const state = this.#state;
    if (!state.tracing) return [0, 0];
    state.sync();
    return [state.traced, state.peak];
  }

  /** Sets the peak of the traced memory to its current value (CPython's `reset_peak()`); nothing when not tracing. */
  resetPeak(): void {
    const state = this.#state;
    if (!state.tracing) return;
    state.sync();
    state.peak = state.traced;
  }

  /**
   * The bytes the tracer itself uses to store traces, frames and tracebacks (CPython's
   * `get_tracemalloc_memory()`): its typed arrays exactly, its JavaScript objects (script names,
   * frames, Traceback objects) at a fixed estimate each.
   * @returns the bytes; 0 when not tracing
   */
  getTracemallocMemory(): number {
    const state = this.#state;
    if (!state.tracing) return 0;
    state.sync();
    let bytes = state.capture.byteLength + state.traces.byteLength + state.freed.byteLength + (state.remote?.byteLength ?? 0);
    for (const table of state.domains.values()) bytes += table.byteLength;
    return bytes;
  }

  /**
   * Free-threading: how many frees of blocks by other threads could not be reported to this
   * tracer since tracing started or the traces were cleared, because the memory could not grow
   * its queue. While it is not 0, the snapshots may still hold up to that many blocks that other
   * threads freed; `clearTraces()` starts afresh. Always 0 in a runtime that is not free-threaded.
   */
  getRemoteFreesLost(): number {
    const state = this.#state;
    if (!state.tracing) return 0;
    state.sync();
    return state.lost;
  }

  /**
   * The traces of the blocks alive now (CPython's `take_snapshot()`), with the traceback limit.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_NOT_TRACING` when not tracing (CPython raises
   *   `RuntimeError`)
   */
  takeSnapshot(): Snapshot {
    const state = this.#state;
    if (!state.tracing) {
      throw new TsmallocError(ErrorCode.NotTracing, "takeSnapshot: tracemalloc must be tracing memory allocations to take a snapshot (call start() first)");
    }
    state.sync();
    const traces: Trace[] = [];
    const collect = (domain: number, table: TraceTable): void => {
      for (let slot = 0; slot < table.capacity; slot++) {
        if (table.addressAt(slot) !== 0) traces.push(new Trace(domain, table.sizeAt(slot), state.capture.traceback(table.tracebackAt(slot))));
      }
    };
    collect(DEFAULT_DOMAIN, state.traces);
    for (const [domain, table] of state.domains) collect(domain, table);
    return new Snapshot(traces, state.capture.nframe);
  }

  /**
   * Where the block at `address` (of the RAW, MEM or OBJ domain: trace domain 0) was allocated
   * (CPython's `get_object_traceback`).
   *
   * @returns its traceback; null when not tracing or the block is not traced (allocated before
   *   tracing started, or freed)
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` unless `address` is an integer
   *   in [0, 2^32)
   */
  getObjectTraceback(address: number): Traceback | null {
    requirePointer(address, "getObjectTraceback");
    const state = this.#state;
    if (!state.tracing) return null;
    state.sync();
    const slot = state.traces.find(address);
    return slot < 0 ? null : state.capture.traceback(state.traces.tracebackAt(slot));
  }

  /**
   * Traces a block that another allocator handed out (CPython's `PyTraceMalloc_Track`): a WASM
   * module's own malloc, a pool of your own. `domain` tells address spaces apart (CPython's
   * numpy uses its own); domain 0 is the runtime's. The traceback is the caller's. A block
   * traced already at that address is traced again with the new size and traceback.
   *
   * @returns true; false when not tracing (CPython's -2), nothing recorded
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `domain` is an integer from
   *   0 to 2^32 - 1; `ERR_TSMALLOC_INVALID_POINTER` unless `address` is an integer in (0, 2^32)
   *   (NULL is never traced); `ERR_TSMALLOC_INVALID_SIZE` unless `size` is a non-negative safe
   *   integer. Arguments are checked whether tracing or not.
   */
  trackExternal(domain: number, address: number, size: number): boolean {
    requireDomainNumber(domain, "trackExternal");
    requirePointer(address, "trackExternal");
    if (address === 0) throw new TsmallocError(ErrorCode.InvalidPointer, "trackExternal: address must not be 0 (NULL is never traced)");
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TsmallocError(ErrorCode.InvalidSize, `trackExternal: size must be a non-negative safe integer, got ${describeValue(size)}`);
    }
    const state = this.#state;
    if (!state.tracing) return false;
    state.sync();
    let table = domain === DEFAULT_DOMAIN ? state.traces : state.domains.get(domain);
    if (table === undefined) {
      table = new TraceTable();
      state.domains.set(domain, table);
    }
    state.add(table, address, size, state.capture.capture(Tracemalloc.prototype.trackExternal, SLACK_TRACK));
    return true;
  }

  /**
   * Forgets the trace of a block tracked with {@link Tracemalloc.trackExternal} (CPython's
   * `PyTraceMalloc_Untrack`); a block that has none is fine.
   *
   * @returns true; false when not tracing (CPython's -2)
   * @throws {@link TsmallocError} as {@link Tracemalloc.trackExternal} for `domain` and `address`
   */
  untrackExternal(domain: number, address: number): boolean {
    requireDomainNumber(domain, "untrackExternal");
    requirePointer(address, "untrackExternal");
    const state = this.#state;
    if (!state.tracing) return false;
    const table = domain === DEFAULT_DOMAIN ? state.traces : state.domains.get(domain);
    const size = table === undefined ? -1 : table.delete(address);
    if (size >= 0) state.traced -= size;
    return true;
  }
}

/**
 * The tracer of `runtime` (CPython's `tracemalloc` module for that interpreter): made on the
 * first call, the same object on every later call with the same runtime. Not tracing until
 * `start()`.
 *
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `runtime` is a Runtime
 */
export function createTracemalloc(runtime: Runtime): Tracemalloc {
  return Tracemalloc.of(runtime);
}

function requirePointer(value: unknown, fn: string): void {
  if (!isAddress(value)) throw new TsmallocError(ErrorCode.InvalidPointer, `${fn}: address must be an integer in [0, 2^32), got ${describeValue(value)}`);
}
