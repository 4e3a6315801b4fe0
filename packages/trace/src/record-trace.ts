/*
 * Recording a JavaScript program's own calls on one domain of a runtime, the way tracemalloc
 * hooks CPython's domains: the domain's allocator is taken with getAllocator() and a recording
 * allocator that wraps it is installed with setAllocator(). Every call goes on to the wrapped
 * allocator; what it returned is handed to a TraceRecorder, which writes the event (with the
 * format's normalisations) to a sink. stop() puts the wrapped allocator back.
 *
 *   program --memMalloc--> runtime --MEM--> RecordingAllocator --malloc--> pymalloc (the wrapped one)
 *                                                  |
 *                                                  +--> TraceRecorder --> TraceBuilder or TraceWriter
 */
import { argumentError, describe, TraceError, TraceErrorCode } from "./errors.ts";
import { checkRuntime, type DomainAllocator, type TargetMemory, TRACE_DOMAINS, type TraceDomain, type TraceRuntime } from "./replay-target.ts";
import { type RecorderCounts, TraceRecorder } from "./trace-recorder.ts";
import type { TraceSink } from "./trace-sink.ts";
import type { Trace } from "./trace.ts";
import { TraceBuilder } from "./trace-builder.ts";

/** Options of {@link recordTrace}. */
export interface RecordTraceOptions {
  /**
   * Where the events go, e.g. a file from `createTraceFile` (close it after `stop()`). Without
   * it they are kept in memory, and `stop()` returns them as a {@link Trace}.
   */
  readonly sink?: TraceSink;
  /** The name of the trace kept in memory. @defaultValue `"recorded"` */
  readonly name?: string;
}

/** What {@link TraceRecording.stop} returns. */
export interface RecordingResult {
  /** The trace, when the events were kept in memory (no `sink`); null when they went to the sink. */
  readonly trace: Trace | null;
  /** Events written, and what was changed or left out, by reason (see `TraceRecorder`). */
  readonly counts: RecorderCounts;
  /** Blocks of the recording still live when it stopped (the trace's blocks never freed). */
  readonly liveBlocks: number;
}

/**
 * Starts recording the calls a program makes on `domain` of `runtime` (`"raw"`, `"mem"` or
 * `"obj"`, the registry's `Domain.RAW`, `Domain.MEM`, `Domain.OBJ`). From now on every `malloc`,
 * `calloc`, `realloc` and `free` the domain's allocator receives, through the runtime's entry
 * points or from anyone holding `getAllocator(domain)`, is recorded as a trace event.
 *
 * Blocks the domain handed out before the recording began are unknown to it: their frees are
 * left out and a realloc of one is recorded as a new block (`counts.unknownFrees`,
 * `counts.unknownReallocs`). A request that returns NULL is not an event: the trace carries a
 * comment instead (`counts.nullReturns`), because a replay cannot know the memory's limits.
 *
 * @returns the recording: {@link TraceRecording.stop} ends it and gives the trace
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` when `runtime` is not runtime-shaped,
 *   `domain` is not a domain, or the options are bad; whatever `runtime.setAllocator` throws
 */
export function recordTrace(runtime: TraceRuntime, domain: TraceDomain, options: RecordTraceOptions = {}): TraceRecording {
  checkRuntime("recordTrace", runtime);
  if (!TRACE_DOMAINS.includes(domain)) throw argumentError("recordTrace", `domain must be one of ${TRACE_DOMAINS.join(", ")}, got ${describe(domain)}`);
  if (typeof options !== "object" || options === null) throw argumentError("recordTrace", "options must be an object");
  if (options.name !== undefined && typeof options.name !== "string") throw argumentError("recordTrace", `name must be a string, got ${describe(options.name)}`);
  const builder = options.sink === undefined ? new TraceBuilder(options.name ?? "recorded") : null;
  const recorder = new TraceRecorder(options.sink ?? builder!);
  return new TraceRecording(runtime, domain, recorder, builder);
}

/** A recording in progress (from {@link recordTrace}). */
export class TraceRecording {
  /** The runtime whose domain is recorded. */
  readonly runtime: TraceRuntime;
  /** The domain recorded: `"raw"`, `"mem"` or `"obj"`. */
  readonly domain: TraceDomain;
  /** The allocator the domain had, which the recording wraps and `stop()` puts back. */
  readonly wrapped: DomainAllocator;
  readonly #recorder: TraceRecorder;
  readonly #builder: TraceBuilder | null;
  readonly #allocator: RecordingAllocator;

  /** Use {@link recordTrace}. */
  constructor(runtime: TraceRuntime, domain: TraceDomain, recorder: TraceRecorder, builder: TraceBuilder | null) {
    this.runtime = runtime;
    this.domain = domain;
    this.wrapped = runtime.getAllocator(domain);
    this.#recorder = recorder;
    this.#builder = builder;
    this.#allocator = new RecordingAllocator(this.wrapped, recorder);
    runtime.setAllocator(domain, this.#allocator);
    recorder.sink.comment(`recorded by @tsmalloc/trace from the ${domain} domain (its allocator: ${this.wrapped.name})`);
  }

  /** True until {@link TraceRecording.stop}. */
  get recording(): boolean {
    return !this.#allocator.stopped;
  }

  /** Events written so far, and what was changed or left out. */
  get counts(): RecorderCounts {
    return this.#recorder.counts;
  }

  /**
   * Ends the recording: the domain gets back exactly the allocator it had when the recording
   * began, and calls that still reach the recording allocator (through a reference taken
   * meanwhile) go on to it without being recorded.
   * @returns the trace (when kept in memory) and the counts
   * @throws TraceError `ERR_TSMALLOC_TRACE_STATE` when the recording has stopped already, or
   *   when the domain's allocator is no longer the recording's (another was installed over it:
   *   remove that one first; the recording goes on)
   */
  stop(): RecordingResult {
    if (this.#allocator.stopped) throw new TraceError(TraceErrorCode.State, "recordTrace: stop() called twice");
    if (this.runtime.getAllocator(this.domain) !== this.#allocator) {
      throw new TraceError(
        TraceErrorCode.State,
        `recordTrace: the ${this.domain} domain's allocator is no longer the recording's (another one was installed over it); put the recording's back first`,
      );
    }
    this.runtime.setAllocator(this.domain, this.wrapped);
    this.#allocator.stopped = true;
    const counts = this.#recorder.counts;
    this.#recorder.sink.comment(`${counts.events} events; left out: ${counts.nullReturns} NULL returns, ${counts.freeNull} free(NULL), ${counts.unknownFrees} frees of blocks from before the recording`);
    return { trace: this.#builder?.finish() ?? null, counts, liveBlocks: this.#recorder.liveBlocks };
  }
}

/** The optional capabilities of the Allocator contract, passed through as they are. */
interface Capabilities {
  usableSize?(ptr: number): number;
  owns?(ptr: number): boolean;
  check?(): unknown;
  stats?(): unknown;
}

/**
 * The allocator a recording installs: each call goes to the wrapped allocator, then to the
 * recorder. The wrapped allocator's optional capabilities (usableSize, owns, check, stats) are
 * its own, answered by it.
 */
class RecordingAllocator implements DomainAllocator, Capabilities {
  readonly name: string;
  readonly memory: TargetMemory;
  /** Set by stop(): calls still reaching this allocator are passed on unrecorded. */
  stopped = false;
  readonly #wrapped: DomainAllocator;
  readonly #recorder: TraceRecorder;
  declare usableSize?: (ptr: number) => number;
  declare owns?: (ptr: number) => boolean;
  declare check?: () => unknown;
  declare stats?: () => unknown;

  constructor(wrapped: DomainAllocator & Capabilities, recorder: TraceRecorder) {
    this.name = `recording(${wrapped.name})`;
    this.memory = wrapped.memory;
    this.#wrapped = wrapped;
    this.#recorder = recorder;
    if (typeof wrapped.usableSize === "function") this.usableSize = (ptr) => wrapped.usableSize!(ptr);
    if (typeof wrapped.owns === "function") this.owns = (ptr) => wrapped.owns!(ptr);
    if (typeof wrapped.check === "function") this.check = () => wrapped.check!();
    if (typeof wrapped.stats === "function") this.stats = () => wrapped.stats!();
  }

  malloc(size: number): number {
    const p = this.#wrapped.malloc(size);
    if (!this.stopped) this.#recorder.malloc(size, p);
    return p;
  }

  calloc(nelem: number, elsize: number): number {
    const p = this.#wrapped.calloc(nelem, elsize);
    if (!this.stopped) this.#recorder.calloc(nelem, elsize, p);
    return p;
  }

  realloc(ptr: number, size: number): number {
    const p = this.#wrapped.realloc(ptr, size);
    if (!this.stopped) this.#recorder.realloc(ptr, size, p);
    return p;
  }

  free(ptr: number): void {
    this.#wrapped.free(ptr);
    if (!this.stopped) this.#recorder.free(ptr);
  }
}
