/*
 * Synthetic churn: a fixed number of live blocks; each step frees a random one and allocates a
 * block of random size in its place. Sizes and slots are drawn up front, so that the timed loop
 * only allocates and frees.
 */
import { argumentError } from "./errors.ts";
import { prng } from "./random.ts";
import type { ReplayTarget } from "./replay-target.ts";

/** A churn workload: `live` slots, then `pairs` free+malloc steps. */
export interface Churn {
  readonly name: string;
  readonly live: number;
  readonly pairs: number;
  /** Size of the block allocated at step i (the first `live` entries fill the slots). */
  readonly sizes: Uint32Array;
  /** Slot replaced at step i (entries after the first `live`). */
  readonly slots: Uint32Array;
  /**
   * How {@link churn} drew it (sizes uniform in [minSize, maxSize], PRNG seed): what a native
   * program needs to draw the same sequence. Absent from a churn made some other way.
   */
  readonly draw?: { readonly minSize: number; readonly maxSize: number; readonly seed: number };
}

/**
 * Draws a churn workload with sizes uniform in [minSize, maxSize], the same for the same seed.
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` unless the sizes, `live` and `pairs`
 *   are non-negative integers with minSize <= maxSize and at least one live slot
 */
export function churn(name: string, minSize: number, maxSize: number, live: number, pairs: number, seed: number = 1): Churn {
  for (const [what, value] of [["minSize", minSize], ["maxSize", maxSize], ["live", live], ["pairs", pairs]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw argumentError("churn", `${what} must be a non-negative integer, got ${String(value)}`);
  }
  if (minSize > maxSize) throw argumentError("churn", `minSize (${minSize}) is above maxSize (${maxSize})`);
  if (live === 0) throw argumentError("churn", "live must be at least 1");
  const random = prng(seed);
  const sizes = new Uint32Array(live + pairs);
  const slots = new Uint32Array(live + pairs);
  for (let i = 0; i < sizes.length; i++) {
    sizes[i] = minSize + Math.floor(random() * (maxSize - minSize + 1));
    slots[i] = i < live ? i : Math.floor(random() * live);
  }
  return { name, live, pairs, sizes, slots, draw: { minSize, maxSize, seed } };
}

/** The small churn of the benchmarks: 8..512 B, 10,000 live blocks, then `pairs` steps. */
export function smallChurn(pairs: number = 200_000): Churn {
  return churn("churn 8..512 B, 10k live", 8, 512, 10_000, pairs, 7);
}

/** The large churn of the benchmarks: 16..64 KiB, 1,000 live blocks, then `pairs` steps. */
export function largeChurn(pairs: number = 50_000): Churn {
  return churn("churn 16..64 KiB, 1k live", 16 << 10, 64 << 10, 1_000, pairs, 11);
}

/**
 * Runs the first `pairs` steps of `work` through `target` (its malloc and free; 0 = a failure,
 * counted). `slots` is scratch of at least `work.live` entries, allocated once outside the timed
 * region; the blocks live at the end are freed.
 * @returns the number of failed allocations
 */
export function runChurn(work: Churn, target: ReplayTarget, slots: Float64Array, pairs: number = work.pairs): number {
  let failures = 0;
  const { live, sizes } = work;
  for (let i = 0; i < live; i++) {
    const p = target.malloc(sizes[i]!);
    if (p === 0) failures++;
    slots[i] = p;
  }
  const end = live + pairs;
  for (let i = live; i < end; i++) {
    const slot = work.slots[i]!;
    const old = slots[slot]!;
    if (old !== 0) target.free(old);
    const p = target.malloc(sizes[i]!);
    if (p === 0) failures++;
    slots[slot] = p;
  }
  for (let i = 0; i < live; i++) {
    if (slots[i] !== 0) target.free(slots[i]!);
    slots[i] = 0;
  }
  return failures;
}
