/*
 * What the plot draws: the trace's live bytes (worked out from its events alone, once, when the
 * trace is loaded) against the heap's footprint (read from the memory as the replay passes each
 * sample point, so it fills in from left to right the first time the replay gets there).
 *
 *   event:      0      stride     2*stride    ...    samples*stride >= length
 *   sample:     0        1           2        ...    samples
 *   footprint:  read     read        NaN (not replayed yet)
 */
import { type Trace, traceProfile } from "@tsmalloc/testkit/trace";

/** How many points the plot gets at most, whatever the trace's length. */
export const MAX_SAMPLES = 2048;

/** The live-bytes curve of a trace, and the footprint samples of one configuration's replay. */
export class TraceSeries {
  /** Events between two samples (at least 1). */
  readonly stride: number;
  /** The last sample's index: sample k is the state after `min(k * stride, length)` events. */
  readonly samples: number;
  /** `liveBytes[k]`: bytes requested by the blocks live after k events (`c` asks NMEMB × SIZE). */
  readonly liveBytes: Float64Array;
  /** Bytes the allocators had mapped at each sample; NaN where the replay has not been yet. */
  readonly footprint: Float64Array;
  readonly peakLiveBytes: number;
  /** The event after which the live bytes peak first (-1 for an empty trace). */
  readonly peakEvent: number;
  readonly length: number;

  constructor(trace: Trace, maxSamples: number = MAX_SAMPLES) {
    if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new RangeError(`maxSamples must be a positive integer, got ${maxSamples}`);
    this.length = trace.length;
    this.stride = Math.max(1, Math.ceil(trace.length / maxSamples));
    this.samples = Math.ceil(trace.length / this.stride);
    this.liveBytes = new Float64Array(trace.length + 1);
    this.footprint = new Float64Array(this.samples + 1).fill(Number.NaN);
    const profile = traceProfile(trace, trace.length, this.liveBytes);
    this.peakLiveBytes = profile.peakLiveBytes;
    this.peakEvent = profile.peakEvent;
  }

  /** The event count sample `k` stands for. */
  eventOf(k: number): number {
    return Math.min(k * this.stride, this.length);
  }

  /** Records the footprint after `events` events when that is a sample point; otherwise nothing. */
  record(events: number, footprint: number): void {
    if (events % this.stride === 0) this.footprint[events / this.stride] = footprint;
    else if (events === this.length) this.footprint[this.samples] = footprint;
  }

  /** The largest footprint recorded so far (0 when none). */
  maxFootprint(): number {
    let max = 0;
    for (const value of this.footprint) if (value > max) max = value;
    return max;
  }
}
