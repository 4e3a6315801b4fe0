/*
 * Why a pointer was refused. free() and friends validate in O(1) (heap.ts validate()); only when
 * that fails do they come here, to walk the heap and say precisely what the pointer is: a block
 * freed already, a pointer into the middle of a block, another heap's block, or nothing at all.
 */
import { ErrorCode, formatAddress, RegionOwner, regionOwnerName, TsmallocError } from "@tsmalloc/memory";
import type { Heap } from "./heap.ts";
import {
  BLOCK_HEADER,
  FLAG_MASK,
  FREE,
  LARGE,
  LARGE_CHECK_MAGIC,
  LARGE_HEAP,
  LARGE_MAGIC,
  LARGE_MAGIC_AT,
  LARGE_PAYLOAD,
  LARGE_REGION_SIZE,
  MIN_BLOCK,
  PREV_FREE,
  SEG_SIZE,
} from "./layout.ts";
import { largeRegionsOf, segmentsOf, walkBlocks } from "./walk.ts";

function error(code: ErrorCode, fn: string, p: number, why: string): TsmallocError {
  return new TsmallocError(code, `${fn}: ${formatAddress(p)} ${why}`, { address: p });
}

/**
 * The error for a pointer that heap.validate() refused. `p` must be an integer in [0, 2^32).
 * Caller holds the heap's lock.
 */
export function diagnosePointer(heap: Heap, p: number, fn: string): TsmallocError {
  if ((p & 15) !== 0) return error(ErrorCode.InvalidPointer, fn, p, "is not 16-byte aligned, so it is not a block of this heap");
  heap.sync();
  const u32 = heap.u32;
  if (p >= u32.length * 4) {
    return error(ErrorCode.InvalidPointer, fn, p, `is outside the memory (${u32.length * 4} bytes)`);
  }
  for (const segment of segmentsOf(u32, heap.hw)) {
    const end = segment + u32[(segment >>> 2) + SEG_SIZE]!;
    if (p < segment || p >= end) continue;
    let found: TsmallocError | undefined;
    const walk = walkBlocks(u32, segment, (q, header) => {
      const size = header & ~FLAG_MASK;
      if (p < q || p >= q + size) return true;
      if ((header & FREE) === 0) {
        found =
          p === q
            ? error(ErrorCode.Corruption, fn, p, "is a block whose header or boundary tag is damaged (was memory before it overwritten?)")
            : error(ErrorCode.InvalidPointer, fn, p, `points inside the block at ${formatAddress(q)} (${size - BLOCK_HEADER} usable bytes), not at its start`);
        return false;
      }
      // p is in free space: a freed block that is now part of this free block, or a stray pointer
      if (p === q) {
        // a block freed before has a used left neighbour (its left word is its check word) and a
        // right neighbour that knows it is free; a used block whose FREE bit was set has neither
        const next = q + size;
        const nextHeader = u32[(next >>> 2) - 1]!;
        const intact =
          (header & PREV_FREE) === 0 &&
          (u32[(q >>> 2) - 2]! | 0) === heap.check(q, size) &&
          (nextHeader & PREV_FREE) !== 0 &&
          u32[(next >>> 2) - 2] === size;
        found = intact
          ? error(ErrorCode.DoubleFree, fn, p, "was already freed (double free)")
          : error(ErrorCode.Corruption, fn, p, "is marked free but its neighbours disagree: its header is damaged");
        return false;
      }
      const stale = u32[(p >>> 2) - 1]!;
      const staleSize = stale & ~FLAG_MASK;
      found =
        staleSize >= MIN_BLOCK && (stale & LARGE) === 0 && p + staleSize <= q + size
          ? error(ErrorCode.DoubleFree, fn, p, "was already freed (double free)")
          : error(ErrorCode.InvalidPointer, fn, p, `points into free space of the heap (the free block at ${formatAddress(q)}), not at a live block`);
      return false;
    });
    if (found !== undefined) return found;
    if (!walk.complete && walk.stoppedAt <= p) {
      return error(ErrorCode.Corruption, fn, p, `is in a heap segment whose blocks are damaged at ${formatAddress(walk.stoppedAt)}`);
    }
    return error(ErrorCode.InvalidPointer, fn, p, `is in a heap segment's header, not at a block`);
  }
  for (const region of largeRegionsOf(u32, heap.hw)) {
    const r = region >>> 2;
    if (p >= region && p < region + u32[r + LARGE_REGION_SIZE]!) {
      if (p === u32[r + LARGE_PAYLOAD]) {
        return error(ErrorCode.Corruption, fn, p, "is a large block whose header or record is damaged (was memory before it overwritten?)");
      }
      return error(ErrorCode.InvalidPointer, fn, p, `points inside the large block at ${formatAddress(u32[r + LARGE_PAYLOAD]!)}, not at its start`);
    }
  }
  const owner = heap.memory.pageOwner(p);
  if (owner === 0) {
    // an unmapped region keeps its old bytes until it is mapped again: a large block freed
    // before still carries its record
    const header = u32[(p >>> 2) - 1]!;
    const region = (u32[(p >>> 2) - 2]! ^ LARGE_CHECK_MAGIC) >>> 0;
    if ((header & FLAG_MASK) === LARGE && region < p && region >>> 2 < u32.length) {
      const r = region >>> 2;
      if (u32[r + LARGE_MAGIC_AT] === LARGE_MAGIC && u32[r + LARGE_PAYLOAD] === p && u32[r + LARGE_HEAP] === heap.address) {
        return error(ErrorCode.DoubleFree, fn, p, "was already freed (double free of a large block; its region is unmapped)");
      }
    }
    return error(ErrorCode.InvalidPointer, fn, p, "is in no mapped region: never allocated, or freed with its segment");
  }
  if (owner === RegionOwner.Malloc || owner === RegionOwner.MallocLarge) {
    return error(ErrorCode.InvalidPointer, fn, p, "belongs to another malloc heap in this memory");
  }
  return error(ErrorCode.InvalidPointer, fn, p, `is not in this heap: it lies in a region of ${regionOwnerName(owner)}`);
}
