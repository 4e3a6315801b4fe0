import type { AllocatorStats } from "@tsmalloc/memory";
import type { Heap } from "./heap.ts";
import {
  BLOCK_HEADER,
  FLAG_MASK,
  FREE,
  H_INBOX,
  H_LARGE_BYTES,
  H_LARGE_COUNT,
  H_LARGE_USABLE,
  H_SEGMENT_BYTES,
  H_SEGMENT_COUNT,
} from "./layout.ts";
import { segmentsOf, walkBlocks } from "./walk.ts";

/** What {@link Malloc.stats} reports. Byte counts of blocks are usable bytes (headers excluded). */
export interface MallocStats extends AllocatorStats {
  /** Live blocks, in segments and large. */
  readonly allocatedBlocks: number;
  /** Usable bytes of live blocks (at least what was asked for each). */
  readonly allocatedBytes: number;
  /** Bytes of segments and large-block regions: what the heap holds from the memory. */
  readonly mappedBytes: number;
  /** Usable bytes of free blocks in segments. */
  readonly freeBytes: number;
  /** Free blocks in segments. */
  readonly freeBlocks: number;
  /** Usable bytes of the largest free block (0 when there is none). */
  readonly largestFreeBlock: number;
  /** Heap segments and their bytes. */
  readonly segments: number;
  readonly segmentBytes: number;
  /** Large blocks (each in a region of its own) and the bytes of their regions. */
  readonly largeBlocks: number;
  readonly largeBytes: number;
  /** Bytes neither allocated nor free: block headers, segment and heap headers, page rounding. */
  readonly overheadBytes: number;
  /**
   * Blocks other threads freed into this heap that wait on its remote-free list (free-threading;
   * 0 for any other heap). Until the heap drains the list they count as allocated.
   */
  readonly remoteFreesPending: number;
}

/**
 * Counts the heap. Nothing is counted on the hot paths (every counter update is a memory write
 * on each call), so this walks every block: linear in the heap. Caller holds the heap's lock.
 */
export function heapStats(heap: Heap): MallocStats {
  heap.sync();
  const u32 = heap.u32;
  const hw = heap.hw;
  let usedBlocks = 0;
  let usedBytes = 0;
  let freeBlocks = 0;
  let freeBytes = 0;
  let largest = 0;
  for (const segment of segmentsOf(u32, hw)) {
    walkBlocks(u32, segment, (_p, header) => {
      const usable = (header & ~FLAG_MASK) - BLOCK_HEADER;
      if ((header & FREE) !== 0) {
        freeBlocks++;
        freeBytes += usable;
        if (usable > largest) largest = usable;
      } else {
        usedBlocks++;
        usedBytes += usable;
      }
    });
  }
  const largeBlocks = u32[hw + H_LARGE_COUNT]!;
  const segmentBytes = u32[hw + H_SEGMENT_BYTES]!;
  const largeBytes = u32[hw + H_LARGE_BYTES]!;
  const allocatedBytes = usedBytes + u32[hw + H_LARGE_USABLE]!;
  const mappedBytes = segmentBytes + largeBytes;
  return {
    allocatedBlocks: usedBlocks + largeBlocks,
    allocatedBytes,
    mappedBytes,
    freeBytes,
    freeBlocks,
    largestFreeBlock: largest,
    segments: u32[hw + H_SEGMENT_COUNT]!,
    segmentBytes,
    largeBlocks,
    largeBytes,
    overheadBytes: mappedBytes - allocatedBytes - freeBytes,
    remoteFreesPending: countPending(u32, u32[hw + H_INBOX]!, usedBlocks + largeBlocks),
  };
}

/** The length of the remote-free list that starts at `head` (at most `limit`: a damaged list may loop). */
function countPending(u32: Uint32Array, head: number, limit: number): number {
  let n = 0;
  for (let p = head; p !== 0 && n < limit && p >>> 2 < u32.length; p = u32[p >>> 2]!) n++;
  return n;
}
