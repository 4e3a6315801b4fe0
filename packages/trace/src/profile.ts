import { OP_CALLOC, OP_FREE, OP_REALLOC, type Trace } from "./trace.ts";

/** What a trace asks of an allocator, worked out from its events alone. */
export interface TraceProfile {
  readonly events: number;
  /** Events by kind. */
  readonly mallocs: number;
  readonly callocs: number;
  readonly reallocs: number;
  readonly frees: number;
  readonly memaligns: number;
  /** The largest sum of requested bytes of live blocks. */
  readonly peakLiveBytes: number;
  /** The first event (0-based) after which the live bytes are at their peak; -1 for no events. */
  readonly peakEvent: number;
  /** Live blocks after `peakEvent`. */
  readonly blocksAtPeak: number;
  /** The most blocks live at once. */
  readonly peakLiveBlocks: number;
  /** Blocks (and their bytes) never freed. */
  readonly liveAtEndBlocks: number;
  readonly liveAtEndBytes: number;
  /** Sum of all requested bytes. */
  readonly requestedBytes: number;
}

/**
 * The live-bytes curve of a trace's first `limit` events: its peak and where it is, the counts
 * of each event kind, what is left at the end. (`c` asks NMEMB × SIZE bytes.)
 *
 * @param curve - when given, the curve itself is written there: `curve[k]` = live bytes after k
 *   events, for k = 0..min(limit, length) (it must have room for that many + 1 entries)
 * @throws RangeError when `curve` is too short
 */
export function traceProfile(trace: Trace, limit: number = trace.length, curve?: Float64Array): TraceProfile {
  const end = Math.max(0, Math.min(limit, trace.length));
  if (curve !== undefined) {
    if (curve.length < end + 1) throw new RangeError(`traceProfile: curve has ${curve.length} entries, ${end + 1} needed`);
    curve[0] = 0;
  }
  const bytes = new Float64Array(trace.ids);
  const counts = [0, 0, 0, 0, 0];
  let live = 0;
  let blocks = 0;
  let peakLiveBytes = 0;
  let peakEvent = -1;
  let blocksAtPeak = 0;
  let peakLiveBlocks = 0;
  let requestedBytes = 0;
  for (let event = 0; event < end; event++) {
    const op = trace.op[event]!;
    const id = trace.id[event]!;
    counts[op]!++;
    if (op === OP_FREE) {
      live -= bytes[id]!;
      blocks--;
    } else {
      if (op === OP_REALLOC) {
        live -= bytes[trace.arg[event]!]!;
        blocks--;
      }
      const n = op === OP_CALLOC ? trace.arg[event]! * trace.size[event]! : trace.size[event]!;
      bytes[id] = n;
      live += n;
      blocks++;
      requestedBytes += n;
    }
    if (curve !== undefined) curve[event + 1] = live;
    // (the first event always sets it: a trace whose blocks are all empty peaks at 0 bytes after event 0)
    if (live > peakLiveBytes || peakEvent < 0) {
      peakLiveBytes = live;
      peakEvent = event;
      blocksAtPeak = blocks;
    }
    if (blocks > peakLiveBlocks) peakLiveBlocks = blocks;
  }
  return {
    events: end,
    mallocs: counts[0]!,
    callocs: counts[1]!,
    reallocs: counts[2]!,
    frees: counts[3]!,
    memaligns: counts[4]!,
    peakLiveBytes,
    peakEvent,
    blocksAtPeak,
    peakLiveBlocks,
    liveAtEndBlocks: blocks,
    liveAtEndBytes: live,
    requestedBytes,
  };
}
