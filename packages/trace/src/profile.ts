/*
 * What a trace asks of an allocator, worked out from its events alone: the live bytes after each
 * event (the curve), its peak and where it is, what is left at the end, the requests by size.
 * "Live bytes" are the bytes the program asked for (`c`: NMEMB × SIZE) of the blocks it holds.
 *
 * A replay can tell which requests its allocator refused (returned NULL): given those events
 * (`failed`), the profile counts only the blocks the allocator gave, with the replay's rules: a
 * refused block is never live, its later free is nothing, its later realloc is a new request;
 * a refused realloc leaves the old block live, under the new id, at its old size.
 */
import { argumentError, describe } from "./errors.ts";
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace } from "./trace.ts";

/** One bar of the size histogram: requests of `min` to `max` bytes. */
export interface SizeBucket {
  /** As the bundled traces' statistics label it: `"0"`, `"1-16"`, … `"64K-1M"`, `">1M"`. */
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

/** The size histogram's bars: their labels and upper bounds (each bar starts after the one before). */
export const SIZE_BUCKETS: readonly { readonly label: string; readonly max: number }[] = [
  { label: "0", max: 0 },
  { label: "1-16", max: 16 },
  { label: "17-32", max: 32 },
  { label: "33-64", max: 64 },
  { label: "65-128", max: 128 },
  { label: "129-256", max: 256 },
  { label: "257-512", max: 512 },
  { label: "513-4K", max: 4096 },
  { label: "4K-64K", max: 65_536 },
  { label: "64K-1M", max: 1 << 20 },
  { label: ">1M", max: Infinity },
];

/** What {@link traceProfile} works out. Events are numbered from 1. */
export interface TraceProfile {
  /** Events looked at. */
  readonly events: number;
  /** Events by kind. */
  readonly mallocs: number;
  readonly callocs: number;
  readonly reallocs: number;
  readonly frees: number;
  readonly memaligns: number;
  /** Requests (`a`, `c`, `r`, `m`) and the bytes they asked for, refused or not. */
  readonly requests: number;
  readonly requestedBytes: number;
  /** The largest sum of live bytes. */
  readonly peakLiveBytes: number;
  /** The event after which the live bytes first reach their peak; 0 for no events. */
  readonly peakEvent: number;
  /** Live blocks after {@link TraceProfile.peakEvent}. */
  readonly blocksAtPeak: number;
  /** The most blocks live at once. */
  readonly peakLiveBlocks: number;
  /** Blocks (and their bytes) live after the last event: never freed. */
  readonly liveAtEndBlocks: number;
  readonly liveAtEndBytes: number;
  /** The refused requests counted (the `failed` option's events). */
  readonly failures: number;
  /** Requests by size (`c`: NMEMB × SIZE), in the bars of {@link SIZE_BUCKETS}. */
  readonly sizeHistogram: readonly SizeBucket[];
}

/** Options of {@link traceProfile}. */
export interface TraceProfileOptions {
  /** Look at the first `limit` events only. */
  readonly limit?: number;
  /**
   * Where to write the curve: `curve[k]` = live bytes after k events, for k = 0..events (it
   * needs that many + 1 entries).
   */
  readonly curve?: Float64Array;
  /**
   * The events (from 1, ascending) whose request a replay's allocator refused, as
   * `TimedReplay.failedEvents` or `ReplayResult.failedEvents` give them: their blocks are not
   * counted (see the module comment).
   */
  readonly failed?: ArrayLike<number>;
}

/**
 * The profile of `trace` (see {@link TraceProfile} and the module comment).
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` when `curve` is too short, `limit` is
 *   negative or NaN, or `failed` is not ascending event numbers of requests within the events
 *   looked at
 */
export function traceProfile(trace: Trace, options: TraceProfileOptions = {}): TraceProfile {
  const { curve, failed } = options;
  const limit = options.limit ?? trace.length;
  if (!(limit >= 0)) throw argumentError("traceProfile", `limit must be a non-negative number, got ${describe(limit)}`);
  const end = Math.min(limit, trace.length);
  if (curve !== undefined) {
    if (!(curve instanceof Float64Array)) throw argumentError("traceProfile", "curve must be a Float64Array");
    if (curve.length < end + 1) throw argumentError("traceProfile", `curve has ${curve.length} entries, ${end + 1} needed`);
    curve[0] = 0;
  }
  if (failed !== undefined) checkFailed(trace, end, failed);
  const { op, id, arg, size } = trace;
  const bytes = new Float64Array(trace.ids);
  const held = new Uint8Array(trace.ids);
  const counts = [0, 0, 0, 0, 0];
  const histogram = new Float64Array(SIZE_BUCKETS.length);
  let nextFailure = 0;
  let live = 0;
  let blocks = 0;
  let peakLiveBytes = 0;
  let peakEvent = 0;
  let blocksAtPeak = 0;
  let peakLiveBlocks = 0;
  let requestedBytes = 0;
  for (let i = 0; i < end; i++) {
    const kind = op[i]!;
    const block = id[i]!;
    counts[kind]!++;
    if (kind === OP_FREE) {
      if (held[block] === 1) {
        live -= bytes[block]!;
        blocks--;
        held[block] = 0;
      }
    } else {
      const n = kind === OP_CALLOC ? arg[i]! * size[i]! : size[i]!;
      requestedBytes += n;
      histogram[bucketOf(n)]!++;
      const refused = failed !== undefined && nextFailure < failed.length && failed[nextFailure] === i + 1;
      if (refused) nextFailure++;
      const old = arg[i]!;
      if (kind === OP_REALLOC && held[old] === 1) {
        if (refused) {
          // the old block goes on under the new id, at its old size
          held[old] = 0;
          held[block] = 1;
          bytes[block] = bytes[old]!;
        } else {
          live -= bytes[old]!;
          held[old] = 0;
          held[block] = 1;
          bytes[block] = n;
          live += n;
        }
      } else if (!refused) {
        held[block] = 1;
        bytes[block] = n;
        live += n;
        blocks++;
      }
    }
    if (curve !== undefined) curve[i + 1] = live;
    // (the first event always sets it: a trace whose blocks are all empty peaks at 0 bytes after event 1)
    if (live > peakLiveBytes || peakEvent === 0) {
      peakLiveBytes = live;
      peakEvent = i + 1;
      blocksAtPeak = blocks;
    }
    if (blocks > peakLiveBlocks) peakLiveBlocks = blocks;
  }
  let min = 0;
  const sizeHistogram = SIZE_BUCKETS.map((bucket, k) => {
    const bar = { label: bucket.label, min, max: bucket.max, count: histogram[k]! };
    min = bucket.max + 1;
    return bar;
  });
  return {
    events: end,
    mallocs: counts[OP_MALLOC]!,
    callocs: counts[OP_CALLOC]!,
    reallocs: counts[OP_REALLOC]!,
    frees: counts[OP_FREE]!,
    memaligns: counts[OP_MEMALIGN]!,
    requests: end - counts[OP_FREE]!,
    requestedBytes,
    peakLiveBytes,
    peakEvent,
    blocksAtPeak,
    peakLiveBlocks,
    liveAtEndBlocks: blocks,
    liveAtEndBytes: live,
    failures: failed === undefined ? 0 : failed.length,
    sizeHistogram,
  };
}

/** The bar of {@link SIZE_BUCKETS} a request of `n` bytes falls in. */
function bucketOf(n: number): number {
  let k = 0;
  while (n > SIZE_BUCKETS[k]!.max) k++;
  return k;
}

function checkFailed(trace: Trace, end: number, failed: ArrayLike<number>): void {
  let last = 0;
  for (let k = 0; k < failed.length; k++) {
    const event = failed[k]!;
    if (!Number.isInteger(event) || event <= last || event > end || trace.op[event - 1] === OP_FREE) {
      throw argumentError("traceProfile", `failed must hold ascending numbers of request events from 1 to ${end}; entry ${k} is ${describe(event)}`);
    }
    last = event;
  }
}
