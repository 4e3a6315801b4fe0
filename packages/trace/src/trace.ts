/*
 * A trace in memory: one entry per event in typed arrays, so that a replay reads numbers and
 * allocates nothing. The text format is trace-parser.ts's and trace-writer.ts's; README.md
 * ("The format") states its rules.
 *
 * Events are numbered from 1, in the order of the trace: event N is the N-th event, and "after
 * event N" is the state once events 1..N are applied (after event 0: before any). Arrays are
 * 0-based, so event N is at index N - 1.
 */
import { argumentError } from "./errors.ts";

/** Event kinds of a parsed {@link Trace} (`op[i]`): `a` lines (`malloc`). */
export const OP_MALLOC = 0;
/** `c` lines (`calloc`). */
export const OP_CALLOC = 1;
/** `r` lines (`realloc`). */
export const OP_REALLOC = 2;
/** `f` lines (`free`). */
export const OP_FREE = 3;
/** `m` lines (`posix_memalign`, `aligned_alloc`, `memalign`). */
export const OP_MEMALIGN = 4;

/** One of the OP_* constants. */
export type TraceOp = typeof OP_MALLOC | typeof OP_CALLOC | typeof OP_REALLOC | typeof OP_FREE | typeof OP_MEMALIGN;

/**
 * A trace: event N (from 1) is at index N - 1: `op[i]` with operands `id[i]`, `arg[i]`,
 * `size[i]`. Made by {@link parseTrace}, {@link TraceParser}, {@link readTrace} and
 * {@link TraceBuilder}; plain data, so it can be posted to a worker.
 */
export interface Trace {
  /** What messages call it (a file's name without `.trace.gz`). */
  readonly name: string;
  /** Number of events. */
  readonly length: number;
  /** One more than the largest block id (0 for no events). */
  readonly ids: number;
  /** The OP_* of each event. */
  readonly op: Uint8Array;
  /** The block the event creates (a, c, m; r: the new id) or frees (f). */
  readonly id: Uint32Array;
  /** r: the old id; c: NMEMB; m: ALIGN; otherwise 0. */
  readonly arg: Uint32Array;
  /** Requested bytes (c: the element size; f: 0). */
  readonly size: Float64Array;
  /**
   * Where the file had lines that are not events (comments, empty lines): pairs
   * `[index, shift]`, in order, meaning that from event index `index` on, event index i is on line
   * `i + 1 + shift`. Absent or empty when event N is on line N.
   */
  readonly lineShifts?: Float64Array;
}

/** Whether `bytes` start with the gzip magic (1f 8b). Never throws. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The name a trace file's events go by: its base name without `.trace` / `.trace.gz` / `.gz`. */
export function traceName(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  return base.replace(/(\.trace)?(\.gz)?$/, "");
}

/**
 * The line of the file that event `event` (from 1) came from: `event` itself unless the file
 * has comments or empty lines before it.
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` unless `event` is an integer in 1..length
 */
export function traceLine(trace: Trace, event: number): number {
  if (!Number.isInteger(event) || event < 1 || event > trace.length) {
    throw argumentError("traceLine", `event must be an integer from 1 to ${trace.length}, got ${String(event)}`);
  }
  const shifts = trace.lineShifts;
  let shift = 0;
  if (shifts !== undefined) {
    for (let k = 0; k + 1 < shifts.length && shifts[k]! <= event - 1; k += 2) shift = shifts[k + 1]!;
  }
  return event + shift;
}
