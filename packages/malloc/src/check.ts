/*
 * check(): validates every invariant of a heap and reports each one that is broken. It reads
 * everything and writes nothing; its cost is linear in the heap. Invariants (layout.ts):
 *
 *   header      magic and version; the segment counters equal what the walks count
 *   segments    magic, owner heap, a list linked both ways, sizes in whole pages, each one a
 *               region of the memory owned by RegionOwner.Malloc
 *   blocks      sizes >= 16 in steps of 16 that tile the segment up to a sentinel of size 0;
 *               FIRST on the first block only; PREV_FREE exactly when the left block is free;
 *               the left word is the left block's size then, and the check word otherwise;
 *               no two free blocks side by side
 *   free lists  each block on the list its size maps to, linked both ways, every free block on
 *               exactly one list; bitmaps set exactly for the non-empty lists
 *   empty seg.  at most one wholly free segment besides the first, and it is the one recorded
 *   large       magic, owner heap, payload, region owned by RegionOwner.MallocLarge of the
 *               recorded size, header flags and left word
 *   heap slot   (free-threading) every page of every segment and large region marked with the
 *               heap's slot in the slot table; the heap recorded as its slot's malloc heap; every
 *               block on the remote-free list a used block of the heap carrying its pending mark,
 *               and none left damaged by a drain
 */
import { type HeapCheck, HeapKind, type HeapProblem, PAGE_SIZE, RegionOwner } from "@tsmalloc/memory";
import { type Heap, listIndex, NOT_A_BLOCK } from "./heap.ts";
import {
  FIRST,
  FL_COUNT,
  FLAG_MASK,
  FREE,
  H_EMPTY_SEGMENT_BLOCK,
  H_FIRST_SEGMENT,
  H_FL_BITMAP,
  H_HEADS,
  H_INBOX,
  H_INBOX_DAMAGE,
  H_LARGE_BYTES,
  H_LARGE_COUNT,
  H_LARGE_USABLE,
  H_MAGIC,
  H_SEGMENT_BYTES,
  H_SEGMENT_COUNT,
  H_SL_BITMAPS,
  H_VERSION,
  HEAP_MAGIC,
  HEAP_VERSION,
  LARGE,
  LARGE_CHECK_MAGIC,
  LARGE_HEADER_BYTES,
  LARGE_HEAP,
  LARGE_MAGIC,
  LARGE_MAGIC_AT,
  LARGE_NEXT,
  LARGE_PAYLOAD,
  LARGE_PREV,
  LARGE_REGION_SIZE,
  PREV_FREE,
  SEG_FIRST_BLOCK,
  SEG_HEAP,
  SEG_MAGIC,
  SEG_NEXT,
  SEG_PREV,
  SEG_SIZE,
  SEGMENT_MAGIC,
  SL_COUNT,
} from "./layout.ts";
import { largeRegionsOf, segmentsOf, walkBlocks } from "./walk.ts";

const hex = (value: number): string => `0x${value.toString(16)}`;

/** Validates the whole heap. Caller holds the heap's lock. */
export function checkHeap(heap: Heap): HeapCheck {
  heap.sync();
  const u32 = heap.u32;
  const hw = heap.hw;
  const problems: HeapProblem[] = [];
  const report = (address: number, message: string): void => {
    if (problems.length < 1000) problems.push({ address, message });
  };
  if (u32[hw + H_MAGIC] !== HEAP_MAGIC) report(heap.address, "heap header magic is wrong");
  if (u32[hw + H_VERSION] !== HEAP_VERSION) report(heap.address, `heap header version is ${u32[hw + H_VERSION]}`);

  // segments and their blocks
  const freeBlocks = new Set<number>();
  let segmentBytes = 0;
  let emptySegments = 0;
  const segments = segmentsOf(u32, hw);
  if (segments.length !== u32[hw + H_SEGMENT_COUNT]) {
    report(heap.address, `segment list holds ${segments.length} segments (or loops), the header counts ${u32[hw + H_SEGMENT_COUNT]}`);
  }
  if (!segments.includes(u32[hw + H_FIRST_SEGMENT]!)) report(heap.address, "the first segment is not on the segment list");
  let previous = 0;
  for (const segment of segments) {
    const s = segment >>> 2;
    const size = u32[s + SEG_SIZE]!;
    segmentBytes += size;
    if (u32[s + SEG_MAGIC] !== SEGMENT_MAGIC) report(segment, "segment magic is wrong");
    if (u32[s + SEG_HEAP] !== heap.address) report(segment, `segment belongs to heap ${hex(u32[s + SEG_HEAP]!)}`);
    if (u32[s + SEG_PREV] !== previous) report(segment, `segment's prev link is ${hex(u32[s + SEG_PREV]!)}, expected ${hex(previous)}`);
    previous = segment;
    if (size === 0 || size % PAGE_SIZE !== 0) report(segment, `segment size ${size} is not a whole number of pages`);
    const region = heap.memory.regionAt(segment);
    if (region === null || region.address !== segment || region.owner !== RegionOwner.Malloc || region.size !== size) {
      report(segment, `segment is not a malloc region of ${size} bytes in the memory's page map (found ${region === null ? "nothing" : `${region.size} bytes owned by ${region.owner} at ${hex(region.address)}`})`);
      continue;
    }
    let leftFree = false;
    let leftSize = 0;
    let first = true;
    let blocks = 0;
    let wholeFree = false;
    const walk = walkBlocks(u32, segment, (p, header) => {
      const blockSize = header & ~FLAG_MASK;
      const free = (header & FREE) !== 0;
      const leftWord = u32[(p >>> 2) - 2]!;
      if ((header & LARGE) !== 0) report(p, "block in a segment has the LARGE flag");
      if (((header & FIRST) !== 0) !== first) report(p, first ? "first block of the segment lacks FIRST" : "block other than the first has FIRST");
      if (((header & PREV_FREE) !== 0) !== leftFree) report(p, `PREV_FREE is ${(header & PREV_FREE) !== 0} but the left block is ${leftFree ? "free" : "used"}`);
      if (leftFree) {
        if (leftWord !== leftSize) report(p, `boundary tag says the free left block has ${leftWord} bytes, it has ${leftSize}`);
        if (free) report(p, "two free blocks side by side (not coalesced)");
        // no check word covers this block's size: the block after it must agree with it
        const next = p + blockSize;
        const nextHeader = u32[(next >>> 2) - 1]!;
        if (!free && ((nextHeader & PREV_FREE) !== 0 || (u32[(next >>> 2) - 2]! | 0) !== heap.check(next, nextHeader & ~FLAG_MASK))) {
          report(p, `block size ${blockSize} does not lead to a block whose check word names it (header overwritten?)`);
        }
      } else if ((leftWord | 0) !== heap.check(p, blockSize)) {
        report(p, "check word is wrong (header or the word before it overwritten)");
      }
      if (free) {
        freeBlocks.add(p);
        if (first && p + blockSize === segment + size) wholeFree = true;
      }
      leftFree = free;
      leftSize = blockSize;
      first = false;
      blocks++;
    });
    if (!walk.complete) {
      report(walk.stoppedAt, "block walk stopped here: impossible block size, or no sentinel at the segment's end");
      continue;
    }
    if (u32[s + SEG_FIRST_BLOCK]! - segment > (segment === u32[hw + H_FIRST_SEGMENT] ? 2048 : 32)) {
      report(segment, `first block at ${hex(u32[s + SEG_FIRST_BLOCK]!)} is too far from the segment start`);
    }
    const end = walk.stoppedAt;
    const sentinel = u32[(end >>> 2) - 1]!;
    if ((sentinel & ~PREV_FREE) !== 0) report(end, `sentinel header is ${hex(sentinel)}`);
    if (((sentinel & PREV_FREE) !== 0) !== leftFree) report(end, "sentinel's PREV_FREE disagrees with the last block");
    if (leftFree && u32[(end >>> 2) - 2] !== leftSize) report(end, "sentinel's boundary tag disagrees with the last block's size");
    if (!leftFree && (u32[(end >>> 2) - 2]! | 0) !== heap.check(end, 0)) report(end, "sentinel's check word is wrong");
    if (blocks === 0) report(segment, "segment holds no blocks");
    if (wholeFree && segment !== u32[hw + H_FIRST_SEGMENT]) {
      emptySegments++;
      if (u32[hw + H_EMPTY_SEGMENT_BLOCK] !== u32[s + SEG_FIRST_BLOCK]) report(segment, "wholly free segment is not the one recorded for reuse");
    }
  }
  if (emptySegments > 1) report(heap.address, `${emptySegments} wholly free segments are kept (at most one should be)`);
  const emptyBlock = u32[hw + H_EMPTY_SEGMENT_BLOCK]!;
  if (emptyBlock !== 0 && emptySegments === 0) report(emptyBlock, "the segment recorded for reuse is not wholly free");

  // free lists and bitmaps
  let flBitmap = 0;
  for (let fl = 0; fl < FL_COUNT; fl++) {
    let slBitmap = 0;
    for (let sl = 0; sl < SL_COUNT; sl++) {
      const index = fl * SL_COUNT + sl;
      let prev = 0;
      let count = 0;
      for (let p = u32[hw + H_HEADS + index]!; p !== 0; p = u32[p >>> 2]!) {
        if (!freeBlocks.has(p)) {
          report(p, `free list ${fl}/${sl} holds ${hex(p)}, which is not a free block`);
          break;
        }
        if (u32[(p >>> 2) + 1] !== prev) report(p, `free-list prev link is ${hex(u32[(p >>> 2) + 1]!)}, expected ${hex(prev)}`);
        const size = u32[(p >>> 2) - 1]! & ~FLAG_MASK;
        if (listIndex(size) !== index) report(p, `free block of ${size} bytes is on list ${fl}/${sl}`);
        freeBlocks.delete(p);
        prev = p;
        count++;
      }
      if (count > 0) slBitmap |= 1 << sl;
    }
    if (u32[hw + H_SL_BITMAPS + fl] !== slBitmap >>> 0) report(heap.address, `second-level bitmap ${fl} is ${hex(u32[hw + H_SL_BITMAPS + fl]!)}, the lists say ${hex(slBitmap)}`);
    if (slBitmap !== 0) flBitmap |= 1 << fl;
  }
  if (u32[hw + H_FL_BITMAP] !== flBitmap >>> 0) report(heap.address, `first-level bitmap is ${hex(u32[hw + H_FL_BITMAP]!)}, the lists say ${hex(flBitmap)}`);
  for (const p of freeBlocks) report(p, "free block is on no free list");

  // counters
  const counters: [number, number, string][] = [
    [H_SEGMENT_BYTES, segmentBytes, "segment bytes"],
  ];
  for (const [at, actual, what] of counters) {
    if (u32[hw + at] !== actual) report(heap.address, `header counts ${u32[hw + at]} ${what}, the heap holds ${actual}`);
  }

  // large blocks
  const regions = largeRegionsOf(u32, hw);
  if (regions.length !== u32[hw + H_LARGE_COUNT]) report(heap.address, `large-block list holds ${regions.length} blocks (or loops), the header counts ${u32[hw + H_LARGE_COUNT]}`);
  let largeBytes = 0;
  let largeUsable = 0;
  let prevRegion = 0;
  for (const region of regions) {
    const r = region >>> 2;
    const size = u32[r + LARGE_REGION_SIZE]!;
    const p = u32[r + LARGE_PAYLOAD]!;
    largeBytes += size;
    if (u32[r + LARGE_MAGIC_AT] !== LARGE_MAGIC) report(region, "large-block magic is wrong");
    if (u32[r + LARGE_HEAP] !== heap.address) report(region, `large block belongs to heap ${hex(u32[r + LARGE_HEAP]!)}`);
    if (u32[r + LARGE_PREV] !== prevRegion) report(region, "large-block prev link is wrong");
    prevRegion = region;
    const mapped = heap.memory.regionAt(region);
    if (mapped === null || mapped.address !== region || mapped.owner !== RegionOwner.MallocLarge || mapped.size !== size) {
      report(region, `large block is not a malloc-large region of ${size} bytes in the page map`);
      continue;
    }
    // the payload follows the record (32 bytes in), or sits one alignment in for memalign
    const offset = p - region;
    if (p <= region || p >= region + size || !(offset === LARGE_HEADER_BYTES || (offset > LARGE_HEADER_BYTES && (offset & (offset - 1)) === 0))) {
      report(region, `large block's payload ${hex(p)} is not where its region puts it`);
      continue;
    }
    const header = u32[(p >>> 2) - 1]!;
    const usable = header - (header & FLAG_MASK);
    largeUsable += usable;
    if ((header & FLAG_MASK) !== LARGE) report(p, `large block's header flags are ${header & FLAG_MASK}`);
    if (usable !== region + size - p) report(p, `large block's size is ${usable}, its region leaves ${region + size - p}`);
    if (u32[(p >>> 2) - 2] !== ((region ^ LARGE_CHECK_MAGIC) >>> 0)) report(p, "large block's left word does not name its region");
    if (u32[r + LARGE_NEXT] !== 0 && regions.indexOf(u32[r + LARGE_NEXT]!) < 0) report(region, "large-block next link leaves the list");
  }
  if (u32[hw + H_LARGE_BYTES] !== largeBytes) report(heap.address, `header counts ${u32[hw + H_LARGE_BYTES]} bytes of large regions, the list holds ${largeBytes}`);
  if (u32[hw + H_LARGE_USABLE] !== largeUsable) report(heap.address, `header counts ${u32[hw + H_LARGE_USABLE]} usable large bytes, the list holds ${largeUsable}`);
  for (const segment of segments) {
    if (u32[(segment >>> 2) + SEG_NEXT] !== 0 && !segments.includes(u32[(segment >>> 2) + SEG_NEXT]!)) report(segment, "segment next link leaves the list");
  }
  if (heap.slot !== 0) checkSlot(heap, segments, regions, report);
  return { ok: problems.length === 0, problems };
}

/** The heap-slot part of the check (free-threading); see the module comment. */
function checkSlot(heap: Heap, segments: readonly number[], regions: readonly number[], report: (address: number, message: string) => void): void {
  const u32 = heap.u32;
  const u8 = heap.u8;
  const hw = heap.hw;
  if (heap.slots!.heap(heap.slot, HeapKind.Malloc) !== heap.address) report(heap.address, `the slot table does not record this heap as slot ${heap.slot}'s malloc heap`);
  const pages = (address: number, bytes: number): void => {
    for (let page = address >>> 16; page < (address + bytes) / PAGE_SIZE; page++) {
      const slot = u8[heap.pageSlots + page]!;
      if (slot !== heap.slot) report(page * PAGE_SIZE, `page of the heap's region at ${hex(address)} is marked for slot ${slot} in the slot table, not ${heap.slot}`);
    }
  };
  for (const segment of segments) pages(segment, u32[(segment >>> 2) + SEG_SIZE]!);
  for (const region of regions) pages(region, u32[(region >>> 2) + LARGE_REGION_SIZE]!);
  const seen = new Set<number>();
  for (let p = u32[hw + H_INBOX]!; p !== 0; p = u32[p >>> 2]!) {
    if (seen.has(p)) {
      report(p, "the remote-free list loops");
      break;
    }
    seen.add(p);
    if (heap.validate(p) === NOT_A_BLOCK || u8[heap.pageSlots + (p >>> 16)] !== heap.slot) {
      report(p, "the remote-free list holds something that is not a used block of this heap");
      break;
    }
    if ((u32[(p >>> 2) + 1]! | 0) !== heap.pendingMark(p)) report(p, "a block on the remote-free list lost its pending mark (written after it was freed?)");
  }
  const damaged = u32[hw + H_INBOX_DAMAGE]!;
  if (damaged !== 0) report(heap.address, `${damaged} remote-free list(s) were found damaged while being drained (a block written after it was freed); their blocks were left alone`);
}
