/*
 * Walking a heap's structures, for check(), stats() and the diagnosis of bad pointers. None of
 * this is on a hot path; every walk is bounded, so that a damaged heap cannot make it loop.
 */
import { FLAG_MASK, H_LARGE_COUNT, H_LARGE_HEAD, H_SEGMENT_COUNT, H_SEGMENT_HEAD, LARGE_NEXT, MIN_BLOCK, SEG_FIRST_BLOCK, SEG_NEXT, SEG_SIZE } from "./layout.ts";

/**
 * The segments of the heap whose header is at word `hw`, newest first, as addresses. Stops after
 * one more than the recorded count (a cycle) or at an address outside the view.
 */
export function segmentsOf(u32: Uint32Array, hw: number): number[] {
  const list: number[] = [];
  const limit = u32[hw + H_SEGMENT_COUNT]! + 1;
  for (let s = u32[hw + H_SEGMENT_HEAD]!; s !== 0 && list.length < limit && s >>> 2 < u32.length; s = u32[(s >>> 2) + SEG_NEXT]!) {
    list.push(s);
  }
  return list;
}

/** The regions of the large blocks of the heap at word `hw`, newest first (bounded as above). */
export function largeRegionsOf(u32: Uint32Array, hw: number): number[] {
  const list: number[] = [];
  const limit = u32[hw + H_LARGE_COUNT]! + 1;
  for (let r = u32[hw + H_LARGE_HEAD]!; r !== 0 && list.length < limit && r >>> 2 < u32.length; r = u32[(r >>> 2) + LARGE_NEXT]!) {
    list.push(r);
  }
  return list;
}

/** Outcome of {@link walkBlocks}. */
export interface BlockWalk {
  /** True when the walk reached the sentinel exactly at the segment's end. */
  readonly complete: boolean;
  /** Where the walk stopped: the sentinel's payload address, or the block that made no sense. */
  readonly stoppedAt: number;
}

/**
 * Calls `visit(p, header)` for every block of `segment` in address order. A block whose size is
 * below the minimum, not a multiple of 16, or past the segment's end stops the walk; so does the
 * sentinel (size 0). `visit` may return false to stop early.
 */
export function walkBlocks(
  u32: Uint32Array,
  segment: number,
  visit: (p: number, header: number) => boolean | void,
): BlockWalk {
  const end = segment + u32[(segment >>> 2) + SEG_SIZE]!;
  let p = u32[(segment >>> 2) + SEG_FIRST_BLOCK]!;
  if (p <= segment || p > end || (p & 15) !== 0) return { complete: false, stoppedAt: p };
  while (p < end) {
    const header = u32[(p >>> 2) - 1]!;
    const size = header & ~FLAG_MASK;
    if (size < MIN_BLOCK || p + size > end) return { complete: false, stoppedAt: p };
    if (visit(p, header) === false) return { complete: false, stoppedAt: p };
    p += size;
  }
  return { complete: p === end && (u32[(p >>> 2) - 1]! & ~FLAG_MASK) === 0, stoppedAt: p };
}
