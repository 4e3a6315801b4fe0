/*
 * Memory held at a trace's peak: replays the trace up to the event after which the live bytes
 * the program asked for peak (traceProfile works it out from the events), and asks how many
 * bytes the allocators have mapped from the memory there.
 */
import { type ReplayTarget, TimedReplay, type Trace, traceProfile } from "@tsmalloc/testkit";

export interface PeakFootprint {
  /** The most bytes the program had live at once (requested sizes). */
  readonly peakLive: number;
  /** Bytes mapped by the allocators after that event. */
  readonly mappedAtPeak: number;
}

/** Replays `trace` through `allocator` up to its peak, then calls `mapped()` once. */
export function peakFootprint(trace: Trace, allocator: ReplayTarget, mapped: () => number): PeakFootprint {
  const profile = traceProfile(trace);
  new TimedReplay(trace, allocator).run(profile.peakEvent);
  return { peakLive: profile.peakLiveBytes, mappedAtPeak: mapped() };
}
