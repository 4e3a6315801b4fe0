/*
 * What the plot draws: the trace's live bytes (worked out from its events alone, when the trace
 * is loaded) against the heap's footprint (read from the memory as the replay passes each sample
 * point, so it fills in from left to right the first time the replay gets there).
 *
 *   events:     0      stride     2*stride    ...    samples*stride >= length
 *   sample:     0        1           2        ...    samples
 *   footprint:  read     read        NaN (not replayed yet)
 *
 * A request the replay's allocator refuses (NULL) is not a live block: once the replay has met
 * such requests, the curve and its peak are worked out again without their blocks (the
 * allocators are deterministic, so the same configuration refuses the same requests again).
 */
import { type Trace, traceProfile } from "@tsmalloc/trace/browser";

/** How many points the plot gets at most, whatever the trace's length. */
export const MAX_SAMPLES = 2048;

/** The live-bytes curve of a trace, and the footprint samples of one configuration's replay. */
export class TraceSeries {
  /** Events between two samples (at least 1). */
  readonly stride: number;
  /** The last sample's index: sample k is the state after `min(k * stride, length)` events. */
  readonly samples: number;
  /** Bytes the allocators had mapped at each sample; NaN where the replay has not been yet. */
  readonly footprint: Float64Array;
  readonly length: number;
  readonly #trace: Trace;
  readonly #liveBytes: Float64Array;
  #peakLiveBytes = 0;
  #peakEvent = 0;
  /** The refused requests' events the curve leaves out (ascending). */
  #failed: readonly number[] = [];

  constructor(trace: Trace, maxSamples: number = MAX_SAMPLES) {
    if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new RangeError(`maxSamples must be a positive integer, got ${maxSamples}`);
    this.#trace = trace;
    this.length = trace.length;
    this.stride = Math.max(1, Math.ceil(trace.length / maxSamples));
    this.samples = Math.ceil(trace.length / this.stride);
    this.#liveBytes = new Float64Array(trace.length + 1);
    this.footprint = new Float64Array(this.samples + 1).fill(Number.NaN);
    this.#profile();
  }

  /**
   * `liveBytes[k]`: bytes requested by the blocks live after k events (`c` asks NMEMB × SIZE),
   * the blocks of refused requests left out.
   */
  get liveBytes(): Float64Array {
    return this.#liveBytes;
  }

  get peakLiveBytes(): number {
    return this.#peakLiveBytes;
  }

  /** The event after which the live bytes first peak (0 for an empty trace). */
  get peakEvent(): number {
    return this.#peakEvent;
  }

  /** How many refused requests the curve leaves out. */
  get failures(): number {
    return this.#failed.length;
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

  /**
   * Takes the events of the requests a replay has seen refused so far (its `failedEvents`, which
   * only grow as it goes on); when there are more than the curve knows, the curve and its peak
   * are worked out again without their blocks.
   * @returns true when the curve changed
   */
  noteFailures(failed: readonly number[]): boolean {
    if (failed.length <= this.#failed.length) return false;
    this.#failed = failed.slice();
    this.#profile();
    return true;
  }

  /** Goes back to the curve of the events alone (another configuration refuses other requests). */
  forgetFailures(): void {
    if (this.#failed.length === 0) return;
    this.#failed = [];
    this.#profile();
  }

  /** The largest footprint recorded so far (0 when none). */
  maxFootprint(): number {
    let max = 0;
    for (const value of this.footprint) if (value > max) max = value;
    return max;
  }

  #profile(): void {
    const profile = traceProfile(this.#trace, { curve: this.#liveBytes, failed: this.#failed });
    this.#peakLiveBytes = profile.peakLiveBytes;
    this.#peakEvent = profile.peakEvent;
  }
}
