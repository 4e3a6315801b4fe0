/*
 * A Trace built in memory, one event at a time: the typed arrays double as they fill and are
 * trimmed to the events at the end. The parser fills one line by line; a recording fills one call
 * by call.
 */
import { TraceError, TraceErrorCode } from "./errors.ts";
import { applyEvent, eventProblem, LiveIds } from "./event-rules.ts";
import type { TraceSink } from "./trace-sink.ts";
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace } from "./trace.ts";

const FIRST_CAPACITY = 1 << 16;

/**
 * Collects events into a {@link Trace}. Each event is checked against the format's rules (see
 * the README); {@link TraceBuilder.finish} gives the trace.
 *
 * ```ts
 * const builder = new TraceBuilder("mine");
 * builder.malloc(0, 100);
 * builder.free(0);
 * const trace = builder.finish(); // 2 events
 * ```
 */
export class TraceBuilder implements TraceSink {
  /** The name the trace will have. */
  readonly name: string;
  #op = new Uint8Array(FIRST_CAPACITY);
  #id = new Uint32Array(FIRST_CAPACITY);
  #arg = new Uint32Array(FIRST_CAPACITY);
  #size = new Float64Array(FIRST_CAPACITY);
  readonly #live = new LiveIds();
  #events = 0;
  #finished = false;

  constructor(name: string = "trace") {
    this.name = name;
  }

  /** Events added so far. */
  get events(): number {
    return this.#events;
  }

  /** True when block `id` is live after the events added so far. Never throws. */
  isLive(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && this.#live.isLive(id);
  }

  /**
   * Adds one event (an OP_* with its operands as in {@link Trace}).
   * @returns null, or why the event breaks the format's rules (nothing is added then)
   * @throws TraceError `ERR_TSMALLOC_TRACE_STATE` after {@link TraceBuilder.finish}
   */
  append(op: number, id: number, arg: number, size: number): string | null {
    if (this.#finished) throw new TraceError(TraceErrorCode.State, "TraceBuilder: an event after finish()");
    if (!(op === OP_MALLOC || op === OP_CALLOC || op === OP_REALLOC || op === OP_FREE || op === OP_MEMALIGN)) return `unknown event kind ${String(op)}`;
    const problem = eventProblem(this.#live, op, id, arg, size);
    if (problem !== null) return problem;
    applyEvent(this.#live, op, id, arg);
    const n = this.#events;
    if (n === this.#op.length) this.#grow();
    this.#op[n] = op;
    this.#id[n] = id;
    this.#arg[n] = op === OP_FREE || op === OP_MALLOC ? 0 : arg;
    this.#size[n] = op === OP_FREE ? 0 : size;
    this.#events = n + 1;
    return null;
  }

  /** @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` when the event breaks the rules */
  malloc(id: number, size: number): void {
    this.#add(OP_MALLOC, id, 0, size);
  }

  /** @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` when the event breaks the rules */
  calloc(id: number, nmemb: number, size: number): void {
    this.#add(OP_CALLOC, id, nmemb, size);
  }

  /** @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` when the event breaks the rules */
  realloc(oldId: number, newId: number, size: number): void {
    this.#add(OP_REALLOC, newId, oldId, size);
  }

  /** @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` when the event breaks the rules */
  free(id: number): void {
    this.#add(OP_FREE, id, 0, 0);
  }

  /** @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` when the event breaks the rules */
  memalign(id: number, alignment: number, size: number): void {
    this.#add(OP_MEMALIGN, id, alignment, size);
  }

  /** A trace in memory keeps no comments: this does nothing. */
  comment(_text: string): void {}

  /**
   * The trace of the events added, its arrays trimmed to them; the builder takes no more events.
   * @param lineShifts - where a file's lines and events part (see {@link Trace.lineShifts})
   * @throws TraceError `ERR_TSMALLOC_TRACE_STATE` when called twice
   */
  finish(lineShifts?: Float64Array): Trace {
    if (this.#finished) throw new TraceError(TraceErrorCode.State, "TraceBuilder: finish() called twice");
    this.#finished = true;
    const n = this.#events;
    return {
      name: this.name,
      length: n,
      ids: this.#live.ids,
      op: this.#op.slice(0, n),
      id: this.#id.slice(0, n),
      arg: this.#arg.slice(0, n),
      size: this.#size.slice(0, n),
      ...(lineShifts === undefined || lineShifts.length === 0 ? {} : { lineShifts }),
    };
  }

  #add(op: number, id: number, arg: number, size: number): void {
    const problem = this.append(op, id, arg, size);
    if (problem !== null) throw new TraceError(TraceErrorCode.InvalidEvent, `TraceBuilder ${this.name}, event ${this.#events + 1}: ${problem}`);
  }

  #grow(): void {
    const capacity = this.#op.length * 2;
    const op = new Uint8Array(capacity);
    const id = new Uint32Array(capacity);
    const arg = new Uint32Array(capacity);
    const size = new Float64Array(capacity);
    op.set(this.#op);
    id.set(this.#id);
    arg.set(this.#arg);
    size.set(this.#size);
    this.#op = op;
    this.#id = id;
    this.#arg = arg;
    this.#size = size;
  }
}
