/*
 * One trace replayed through one allocator configuration, an event at a time or many at once,
 * through the MEM domain of a real runtime (@tsmalloc/trace's TimedReplay on domainTarget(runtime,
 * MEM): `runtime.memMalloc` and friends, the traced program's malloc becoming PyMem_Malloc).
 * Nothing here draws: the page reads the heaps straight from the runtime's memory whenever
 * `version` has moved. Events are numbered from 1: the cursor N means "after event N".
 *
 * Going back in time is a fresh runtime replayed forward to the event asked for: the allocators
 * are deterministic, so the heap after k events is the same every time (the debug hooks' serial
 * numbers included).
 */
import { DebugCorruptionError, HEADER_BYTES, TRAILER_BYTES } from "@tsmalloc/debug";
import { formatAddress, LinearMemory } from "@tsmalloc/memory";
import { type AllocatorConfig, createRuntime, Domain, type Runtime } from "@tsmalloc/registry";
import { domainTarget, OP_CALLOC, OP_FREE, OP_REALLOC, ReplayMismatch, TimedReplay, type Trace } from "@tsmalloc/trace/browser";
import { describeEvent } from "./events.ts";
import { TraceSeries } from "./trace-series.ts";

/** The byte an injected overflow writes: `'x'`, as CPython's `test_capi` overflow test does. */
export const OVERFLOW_BYTE = 0x78;

/** A replay that stopped because the allocator threw (the debug hooks found a damaged block). */
export interface ReplayFault {
  /**
   * The event (from 1) that was refused (the events before it were applied), or, for a free from
   * the panel, the event the replay stood after.
   */
  readonly event: number;
  /** Where it happened, for the headline: the event's text or "PyMem_Free from the panel". */
  readonly during: string;
  /** What the allocator threw. */
  readonly error: unknown;
  /** `DebugCorruptionError#report` (CPython's report), or the error's message for any other error. */
  readonly report: string;
}

/** A block whose trailing guard bytes were overwritten by {@link ReplaySession.injectOverflow}. */
export interface Injection {
  readonly id: number;
  /** The block's data pointer (what PyMem_Malloc returned). */
  readonly address: number;
  /** The bytes the program asked for: the overflow starts right after them. */
  readonly size: number;
  /** How many bytes were written past the end. */
  readonly bytes: number;
  /** The cursor when the overflow was written. */
  readonly event: number;
}

/** A block the trace frees or reallocates next: where to inject an overflow that the replay will catch. */
export interface UpcomingRelease {
  readonly id: number;
  /** The event (from 1) that frees (`f`) or moves (`r`) it. */
  readonly event: number;
}

/** A trace's replay through one configuration; see the module comment. */
export class ReplaySession {
  readonly trace: Trace;
  readonly config: AllocatorConfig;
  /** Live bytes and the footprint samples recorded so far (kept across {@link reset}). */
  readonly series: TraceSeries;
  /** True when the configuration installs the debug hooks (`debug`, `pymalloc_debug`, `malloc_debug`). */
  readonly debugHooks: boolean;
  /** Moves on every change of the heaps or the cursor: draw when it differs from what was drawn. */
  version = 0;
  /** Moves on every {@link reset}: a fresh runtime, so anything remembered about the old one is void. */
  generation = 0;
  fault: ReplayFault | null = null;
  injection: Injection | null = null;
  #runtime: Runtime;
  #replay: TimedReplay;
  #baseline = 0;

  /**
   * @param series - the trace's series, to share with an earlier session of the same trace (its
   *   live-bytes curve is kept; its footprint samples are cleared, to be refilled by this replay)
   * @throws TsmallocError for a configuration name that is not one of ALLOCATOR_CONFIGS
   */
  constructor(trace: Trace, config: AllocatorConfig, series: TraceSeries = new TraceSeries(trace)) {
    this.trace = trace;
    this.config = config;
    this.series = series;
    this.series.footprint.fill(Number.NaN);
    this.series.forgetFailures();
    this.#runtime = this.#freshRuntime();
    this.#replay = new TimedReplay(trace, domainTarget(this.#runtime, Domain.MEM));
    this.debugHooks = this.#runtime.allocatorName()?.endsWith("_debug") === true;
    this.series.record(0, this.footprint());
  }

  /** The runtime replaying the trace (replaced by {@link reset}). */
  get runtime(): Runtime {
    return this.#runtime;
  }

  /** Events applied so far: the replay stands after event `cursor`. */
  get cursor(): number {
    return this.#replay.applied;
  }

  /** Requests that returned NULL so far: their blocks are not live. */
  get failures(): number {
    return this.#replay.failures;
  }

  get length(): number {
    return this.trace.length;
  }

  /** True when every event has been applied. */
  get atEnd(): boolean {
    return this.#replay.applied === this.trace.length;
  }

  /** Bytes the allocators have mapped from the memory, the memory's own header not counted. */
  footprint(): number {
    return this.#runtime.memory.stats().mappedBytes - this.#baseline;
  }

  /** The data pointer of block `id` now, 0 when it is not live (or its request returned NULL). */
  addressOf(id: number): number {
    return this.#replay.addressOf(id);
  }

  /** Back to before the first event: a fresh memory and runtime; the fault and injection are gone. */
  reset(): void {
    this.#runtime = this.#freshRuntime();
    this.#replay = new TimedReplay(this.trace, domainTarget(this.#runtime, Domain.MEM));
    this.fault = null;
    this.injection = null;
    this.generation++;
    this.version++;
  }

  /**
   * Applies up to `maxEvents` events; stops early at the end of the trace or when the allocator
   * throws, which becomes {@link fault} (the refused event is not applied). Does nothing while
   * there is a fault. Requests that return NULL are told to the series, whose live bytes then
   * leave their blocks out.
   * @returns the number of events applied
   * @throws RangeError for a negative or fractional `maxEvents`
   */
  advance(maxEvents: number): number {
    checkMaxEvents("advance", maxEvents);
    const replay = this.#replay;
    const start = replay.applied;
    const faultedBefore = this.fault !== null;
    const goal = Math.min(this.trace.length, start + maxEvents);
    const stride = this.series.stride;
    while (replay.applied < goal && this.fault === null) {
      // stop at every sample point to read the footprint there
      const end = Math.min(goal, (Math.floor(replay.applied / stride) + 1) * stride);
      try {
        replay.run(end);
      } catch (error) {
        if (!(error instanceof ReplayMismatch)) throw error;
        this.fault = faultOf(error.event, describeEvent(this.trace, error.event), error.cause);
        break;
      }
      this.series.record(replay.applied, this.footprint());
    }
    this.series.noteFailures(replay.failedEvents);
    this.#forgetInjectionIfGone();
    if (replay.applied !== start || (this.fault !== null && !faultedBefore)) this.version++;
    return replay.applied - start;
  }

  /**
   * Replays to just after `events` events, going back through {@link reset} when they lie behind
   * the cursor; at most `maxEvents` events are applied per call, so that a page can spread a long
   * seek over several frames (call again until it returns true).
   * @returns true once the cursor is at `events` (or stopped by a fault)
   * @throws RangeError for an event count outside [0, length] or not an integer
   */
  seek(events: number, maxEvents: number = Infinity): boolean {
    checkMaxEvents("seek", maxEvents);
    if (!Number.isInteger(events) || events < 0 || events > this.trace.length) throw new RangeError(`seek: events must be an integer in [0, ${this.trace.length}], got ${events}`);
    if (events < this.cursor || (this.fault !== null && events !== this.cursor)) this.reset();
    this.advance(Math.min(maxEvents, events - this.cursor));
    return this.cursor === events || this.fault !== null;
  }

  /**
   * The bytes block `id` holds for the program: under debug hooks, the size they recorded in the
   * block's header (exact even when a realloc returned NULL and the block kept its old size);
   * otherwise what the event that made it asked for (c: NMEMB × SIZE). 0 when it is not live.
   */
  requestedSize(id: number): number {
    const address = this.addressOf(id);
    if (address === 0) return 0;
    if (this.debugHooks) return recordedSize(this.#runtime.memory.u8, address);
    const { op, size, arg } = this.trace;
    for (let event = this.cursor - 1; event >= 0; event--) {
      if (this.trace.id[event] !== id || op[event] === OP_FREE) continue;
      return op[event] === OP_CALLOC ? arg[event]! * size[event]! : size[event]!;
    }
    return 0;
  }

  /**
   * The first block the trace frees or reallocates after the cursor, among blocks that are live
   * (a block the replay never got, because its request returned NULL, is skipped).
   * @returns null when no event after the cursor releases a live block
   */
  nextRelease(): UpcomingRelease | null {
    const { op, id, arg } = this.trace;
    for (let i = this.cursor; i < this.trace.length; i++) {
      const target = op[i] === OP_FREE ? id[i]! : op[i] === OP_REALLOC ? arg[i]! : -1;
      if (target >= 0 && this.addressOf(target) !== 0) return { id: target, event: i + 1 };
    }
    return null;
  }

  /**
   * Writes `bytes` bytes of `'x'` right after the data of live block `id`, over the debug hooks'
   * trailing guard bytes (CPython's `FORBIDDENBYTE`s): the hooks find it when the block is freed
   * or reallocated, by the trace or by {@link freeInjectedNow}.
   * @throws Error when the configuration has no debug hooks (the overflow would go unseen), when
   *   the replay has stopped at a fault or a block already carries an overflow; RangeError for an
   *   id that is not a live block or a byte count outside 1..TRAILER_BYTES (more would reach the
   *   next block). Nothing is written then.
   */
  injectOverflow(id: number, bytes: number = 1): Injection {
    if (!this.debugHooks) throw new Error(`injectOverflow: the ${this.config} configuration has no debug hooks, so nothing would notice the overflow; choose debug, pymalloc_debug or malloc_debug`);
    if (this.fault !== null) throw new Error("injectOverflow: the replay has stopped at a fault; go back to continue");
    if (this.injection !== null) throw new Error(`injectOverflow: block ${this.injection.id} already carries an overflow`);
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > TRAILER_BYTES) throw new RangeError(`injectOverflow: bytes must be an integer in [1, ${TRAILER_BYTES}], got ${bytes}`);
    const address = this.addressOf(id);
    if (address === 0) throw new RangeError(`injectOverflow: ${JSON.stringify(id)} is not a live block id after event ${this.cursor}`);
    const size = this.requestedSize(id);
    this.#runtime.memory.u8.fill(OVERFLOW_BYTE, address + size, address + size + bytes);
    this.injection = { id, address, size, bytes, event: this.cursor };
    this.version++;
    return this.injection;
  }

  /**
   * Frees the block that carries the overflow now, through `PyMem_Free` (the runtime's
   * `memFree`), instead of waiting for the trace to: the hooks refuse it and their report
   * becomes {@link fault}. The heap is unchanged (a refused free frees nothing).
   * @throws Error when no block carries an overflow
   */
  freeInjectedNow(): ReplayFault {
    const injection = this.injection;
    if (injection === null) throw new Error("freeInjectedNow: no block carries an overflow; inject one first");
    if (this.fault !== null) return this.fault;
    try {
      this.#runtime.memFree(injection.address);
    } catch (error) {
      this.fault = faultOf(this.cursor, `PyMem_Free(${formatAddress(injection.address)}) from the panel (block ${injection.id})`, error);
      this.version++;
      return this.fault;
    }
    // (the hooks always see an overflow: this is only reached if the guard bytes were put back;
    // the block is gone while the replay still holds it, so the replay starts over)
    this.reset();
    throw new Error(`freeInjectedNow: the hooks freed block ${injection.id} without complaint; the replay starts over`);
  }

  #freshRuntime(): Runtime {
    const memory = new LinearMemory();
    this.#baseline = memory.stats().mappedBytes;
    return createRuntime({ memory, allocator: this.config });
  }

  /** An injected block the trace has freed or moved no longer carries the overflow. */
  #forgetInjectionIfGone(): void {
    const injection = this.injection;
    if (injection !== null && this.addressOf(injection.id) !== injection.address) this.injection = null;
  }
}

/** @throws RangeError unless `maxEvents` is a non-negative integer or Infinity */
function checkMaxEvents(fn: string, maxEvents: number): void {
  if (!(Number.isInteger(maxEvents) && maxEvents >= 0) && maxEvents !== Infinity) throw new RangeError(`${fn}: maxEvents must be a non-negative integer, got ${maxEvents}`);
}

/**
 * The size the debug hooks recorded for the block at `p`: CPython's layout keeps it in the first
 * 8 bytes of the header, big-endian (read without the hooks' checks, so a damaged block can be shown).
 */
function recordedSize(u8: Uint8Array, p: number): number {
  let size = 0;
  for (let i = p - HEADER_BYTES; i < p - HEADER_BYTES + 8; i++) size = size * 256 + u8[i]!;
  return size;
}

function faultOf(event: number, during: string, error: unknown): ReplayFault {
  const report = error instanceof DebugCorruptionError ? error.report : error instanceof Error ? `${error.name}: ${error.message}\n` : `${String(error)}\n`;
  return { event, during, error, report };
}
