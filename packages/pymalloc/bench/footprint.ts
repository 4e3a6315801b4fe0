/*
 * Memory held at a trace's peak: replays the trace, and at the event where the live bytes the
 * program asked for peak, asks how many bytes the allocators have mapped from the memory.
 */
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_REALLOC, type ReplayTarget, type Trace } from "@tsmalloc/testkit";

export interface PeakFootprint {
  /** The most bytes the program had live at once (requested sizes). */
  readonly peakLive: number;
  /** Bytes mapped by the allocators at that event. */
  readonly mappedAtPeak: number;
}

/** Replays `trace` through `allocator`, calling `mapped()` once, just after the peak event. */
export function peakFootprint(trace: Trace, allocator: ReplayTarget, mapped: () => number): PeakFootprint {
  const { op, id, arg, size } = trace;
  // first pass: where do the live bytes peak?
  const bytes = new Float64Array(trace.ids);
  let live = 0;
  let peakLive = 0;
  let peakEvent = -1;
  for (let e = 0; e < trace.length; e++) {
    const o = op[e]!;
    if (o === OP_FREE) {
      live -= bytes[id[e]!]!;
      continue;
    }
    const n = o === OP_CALLOC ? arg[e]! * size[e]! : size[e]!;
    if (o === OP_REALLOC) live -= bytes[arg[e]!]!;
    bytes[id[e]!] = n;
    live += n;
    if (live > peakLive) {
      peakLive = live;
      peakEvent = e;
    }
  }
  // second pass: replay up to the peak and measure
  const address = new Float64Array(trace.ids);
  let mappedAtPeak = 0;
  for (let e = 0; e <= peakEvent; e++) {
    const o = op[e]!;
    const target = id[e]!;
    if (o === OP_MALLOC) address[target] = allocator.malloc(size[e]!);
    else if (o === OP_CALLOC) address[target] = allocator.calloc(arg[e]!, size[e]!);
    else if (o === OP_REALLOC) {
      address[target] = allocator.realloc(address[arg[e]!]!, size[e]!);
      address[arg[e]!] = 0;
    } else if (o === OP_FREE) {
      allocator.free(address[target]!);
      address[target] = 0;
    }
  }
  mappedAtPeak = mapped();
  return { peakLive, mappedAtPeak };
}
