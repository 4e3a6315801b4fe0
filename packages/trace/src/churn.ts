/*
 * Synthetic churn: a fixed number of live blocks; each step frees a random one and allocates a
 * block of random size in its place. Sizes and slots are drawn up front, so that the timed loop
 * only allocates and frees.
 */
import { prng } from "./random.ts";

/** A churn workload: `live` slots, then `pairs` free+malloc steps. */
export interface Churn {
  readonly name: string;
  readonly live: number;
  readonly pairs: number;
  /** Size of the block allocated at step i (the first `live` entries fill the slots). */
  readonly sizes: Uint32Array;
  /** Slot replaced at step i (entries after the first `live`). */
  readonly slots: Uint32Array;
}

/** Draws a churn workload with sizes uniform in [minSize, maxSize]. */
export function churn(name: string, minSize: number, maxSize: number, live: number, pairs: number, seed = 1): Churn {
  const random = prng(seed);
  const sizes = new Uint32Array(live + pairs);
  const slots = new Uint32Array(live + pairs);
  for (let i = 0; i < sizes.length; i++) {
    sizes[i] = minSize + Math.floor(random() * (maxSize - minSize + 1));
    slots[i] = i < live ? i : Math.floor(random() * live);
  }
  return { name, live, pairs, sizes, slots };
}

/** The small churn of the benchmarks: 8..512 B, 10,000 live blocks. */
export function smallChurn(pairs = 200_000): Churn {
  return churn("churn 8..512 B, 10k live", 8, 512, 10_000, pairs, 7);
}

/** The large churn of the benchmarks: 16..64 KiB, 1,000 live blocks. */
export function largeChurn(pairs = 50_000): Churn {
  return churn("churn 16..64 KiB, 1k live", 16 << 10, 64 << 10, 1_000, pairs, 11);
}

/** What a churn runs against: any allocator with address-returning malloc and free. */
export interface ChurnTarget {
  malloc(size: number): number;
  free(p: number): void;
}

/**
 * Runs the first `pairs` steps of `work` through `target` (0 = failure, counted). `slots` is
 * scratch of at least `work.live` entries; live blocks are freed at the end.
 * @returns the number of failed allocations
 */
export function runChurn(work: Churn, target: ChurnTarget, slots: Float64Array, pairs: number = work.pairs): number {
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
