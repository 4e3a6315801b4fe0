/*
 * The TLSF heap itself: allocation, freeing, resizing and growth, with no locking and no argument
 * checking (malloc.ts does both). Layout and invariants are described in layout.ts.
 *
 * Every method works on word indices into `u32`, the memory's current view, which `sync()`
 * refreshes: at the start of each public call and after every call into the region allocator
 * (which may grow the memory and so replace the view).
 */
import { type HeapSlot, type HeapSlots, type LinearMemory, MAX_MEMORY_BYTES, PAGE_SIZE, RegionOwner } from "@tsmalloc/memory";
import {
  ALIGNMENT,
  BLOCK_HEADER,
  CHECK_MAGIC,
  FIRST,
  FL_COUNT,
  FLAG_MASK,
  FLAG_SHARED,
  FREE,
  H_EMPTY_SEGMENT_BLOCK,
  H_FIRST_SEGMENT,
  H_FL_BITMAP,
  H_FLAGS,
  H_HEADS,
  H_INBOX,
  H_INBOX_DAMAGE,
  H_LARGE_BYTES,
  H_LARGE_COUNT,
  H_LARGE_HEAD,
  H_LARGE_USABLE,
  H_MAGIC,
  H_MMAP_THRESHOLD,
  H_SEGMENT_BYTES,
  H_SEGMENT_COUNT,
  H_SEGMENT_HEAD,
  H_SEGMENT_SIZE,
  H_SL_BITMAPS,
  H_SLOT,
  H_SLOTS,
  H_VERSION,
  HEAP_HEADER_BYTES,
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
  MIN_BLOCK,
  PENDING_MAGIC,
  PREV_FREE,
  SEG_FIRST_BLOCK,
  SEG_HEAP,
  SEG_MAGIC,
  SEG_NEXT,
  SEG_PREV,
  SEG_SIZE,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  SEGMENT_OVERHEAD,
  SL_BITS,
  SL_COUNT,
  SMALL_BLOCK,
} from "./layout.ts";
import { segmentsOf } from "./walk.ts";

/** validate() results: a block in a segment, a large block, or a pointer that is not a block. */
export const KIND_BLOCK = 1;
export const KIND_LARGE = 2;
export const NOT_A_BLOCK = 0;

/** The owner bits of a page-map byte (see LinearMemory.pageMapOffset). */
const PAGE_OWNER_MASK = 0x3f;

/** How many times validateRemote() reads a block of another thread's heap before refusing it. */
const REMOTE_READS = 64;

/** No segment grows past 1 GiB, so that block sizes stay below 2^30 (small integers in V8). */
export const MAX_SEGMENT_BYTES: number = 1 << 30;
/** A new segment (or an extension) adds at most this much beyond what the request needs. */
const MAX_SEGMENT_STEP = 64 << 20;

/**
 * The block size (header included) that serves a request of `n` bytes: `n` + 8 rounded up to 16,
 * at least 16. Exact for every `n` below 2^53: the rounding subtracts the low bits rather than
 * masking with `& ~15`, which works on 32 bits and turned every `n` from 2^31 - 23 up into a
 * negative size (memalign then took the small-block path and carved a "block" out of the heap).
 */
export function blockSizeFor(n: number): number {
  if (n <= BLOCK_HEADER) return MIN_BLOCK;
  const x = n + BLOCK_HEADER + ALIGNMENT - 1;
  return x - (x & (ALIGNMENT - 1));
}

/** The TLSF list (fl * SL_COUNT + sl) that holds free blocks of `size` bytes. */
export function listIndex(size: number): number {
  if (size < SMALL_BLOCK) return size >>> 4;
  const log2 = 31 - Math.clz32(size);
  return (log2 - 7) * SL_COUNT + ((size >>> (log2 - SL_BITS)) - SL_COUNT);
}

/**
 * The least size findFree() accepts for a request of `size` bytes: `size` rounded up to the start
 * of a free list (lists at and above it hold only blocks that fit). Growth must make a free block
 * at least this large, or the search that follows it would not see the new block.
 */
export function searchSize(size: number): number {
  if (size < SMALL_BLOCK) return size;
  const step = 1 << (31 - Math.clz32(size) - SL_BITS);
  // rounded as in blockSizeFor, exactly past 2^31 as well (`& ~(step - 1)` would wrap there)
  const x = size + step - 1;
  return x - (x & (step - 1));
}

/** `bytes` rounded up to whole 64 KiB pages. */
export function roundUpPages(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * Copies and zeroings of at most this many bytes go word by word: on Node 20 a TypedArray
 * copyWithin or fill costs about 60 ns however short (a builtin call), a loop of 16 words about
 * 40 (malloc's README, "What the checks and copies cost").
 */
const SHORT_COPY = 64;

/** Index of the lowest set bit of a non-zero word. */
function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Settings written into a new heap's header. */
export interface HeapSettings {
  readonly mmapThreshold: number;
  readonly segmentSize: number;
}



/**
 * One heap in the memory: the header at `address` and the algorithms over it. Unlocked and
 * unchecked; Malloc (malloc.ts) validates arguments and takes the lock around every call.
 */
export class Heap {
  readonly memory: LinearMemory;
  /** Address of the heap header. */
  readonly address: number;
  /** Word index of the heap header. */
  readonly hw: number;
  /** XORed into check words, so that blocks of another heap in the same memory fail them. */
  readonly salt: number;
  /** Byte offset of the memory's page map (see LinearMemory.pageMapOffset). */
  readonly pageMap: number;
  /** Requests of this many bytes or more get a region of their own. */
  readonly mmapThreshold: number;
  /** The first block of the first segment, which is never unmapped. */
  firstBlock: number;
  /** The heap slot this heap belongs to, 0 when none (then nothing below is used). */
  readonly slot: number;
  /** The slot table of that slot, null when none. */
  readonly slots: HeapSlots | null;
  /** Byte offset of the slot table's page table (HeapSlots.pageTable), 0 when no slot. */
  readonly pageSlots: number;
  /** Called before the heap maps more pages from the memory (Malloc's beforeMap option). */
  beforeMap: (() => void) | null = null;
  /** Views of the memory, current as of the last sync(). */
  u32: Uint32Array;
  u8: Uint8Array;

  /** The heap whose header is at `address`; `slot` the heap slot it was made in, if any. */
  constructor(memory: LinearMemory, address: number, slot: HeapSlot | null) {
    this.memory = memory;
    this.address = address;
    this.hw = address >>> 2;
    this.salt = address ^ CHECK_MAGIC;
    this.pageMap = memory.pageMapOffset;
    this.slot = slot === null ? 0 : slot.slot;
    this.slots = slot === null ? null : slot.table;
    this.pageSlots = slot === null ? 0 : slot.table.pageTable;
    this.u32 = memory.u32;
    this.u8 = memory.u8;
    this.mmapThreshold = this.u32[this.hw + H_MMAP_THRESHOLD]!;
    const first = this.u32[this.hw + H_FIRST_SEGMENT]!;
    this.firstBlock = this.u32[(first >>> 2) + SEG_FIRST_BLOCK]!;
  }

  /**
   * Maps a first segment from `memory` and writes a new heap into it.
   * @returns the heap, or null when the memory cannot hold the first segment
   */
  static create(memory: LinearMemory, settings: HeapSettings, slot: HeapSlot | null): Heap | null {
    const bytes = roundUpPages(Math.max(settings.segmentSize, HEAP_HEADER_BYTES + SEGMENT_OVERHEAD + 64));
    const segment = memory.map(bytes, { owner: RegionOwner.Malloc });
    if (segment === 0) return null;
    if (slot !== null) slot.table.assignPages(segment, bytes, slot.slot);
    const address = segment + 32;
    const u32 = memory.u32;
    const hw = address >>> 2;
    u32.fill(0, hw, hw + HEAP_HEADER_BYTES / 4);
    u32[hw + H_VERSION] = HEAP_VERSION;
    u32[hw + H_FLAGS] = memory.shared ? FLAG_SHARED : 0;
    u32[hw + H_MMAP_THRESHOLD] = settings.mmapThreshold;
    u32[hw + H_SEGMENT_SIZE] = settings.segmentSize;
    u32[hw + H_FIRST_SEGMENT] = segment;
    if (slot !== null) {
      u32[hw + H_SLOT] = slot.slot;
      u32[hw + H_SLOTS] = slot.table.address;
    }
    // the first segment's first block goes after the heap header; firstBlock is read back below
    u32[(segment >>> 2) + SEG_FIRST_BLOCK] = 0;
    const heap = new Heap(memory, address, slot);
    heap.initSegment(segment, bytes, address + HEAP_HEADER_BYTES);
    heap.firstBlock = u32[(segment >>> 2) + SEG_FIRST_BLOCK]!;
    u32[hw + H_MAGIC] = HEAP_MAGIC;
    return heap;
  }

  /**
   * Takes the memory's current views: the memory makes new ones whenever it grew (by anybody:
   * another allocator, another worker, another instance on the same buffer), and its getter
   * notices that cheaply. The u8 view is always made together with the u32 one.
   */
  sync(): void {
    const u32 = this.memory.u32;
    if (u32 !== this.u32) {
      this.u32 = u32;
      this.u8 = this.memory.u8;
    }
  }

  /**
   * The check word of a block at `p` of `size` bytes whose left neighbour is used, as a signed
   * 32-bit value: compare it with `u32[...] | 0`.
   */
  check(p: number, size: number): number {
    return p ^ size ^ this.salt;
  }

  /** The mark of the used block `p` while it waits on the remote-free list (signed, as check()). */
  pendingMark(p: number): number {
    return p ^ this.salt ^ PENDING_MAGIC;
  }

  /**
   * Marks the pages of the region `[address, address + bytes)` as this heap's slot's in the slot
   * table (`owned`), or as nobody's; nothing for a heap of no slot. A region is marked right after
   * it is mapped or grown, and cleared right before it is unmapped or shrunk.
   */
  assignPages(address: number, bytes: number, owned: boolean): void {
    if (this.slot === 0) return;
    const first = this.pageSlots + (address >>> 16);
    this.memory.u8.fill(owned ? this.slot : 0, first, first + Math.ceil(bytes / PAGE_SIZE));
  }

  // -------------------------------------------------------------------------------------------
  // Free lists

  insertFree(p: number, size: number): void {
    const u32 = this.u32;
    const hw = this.hw;
    const index = listIndex(size);
    const headAt = hw + H_HEADS + index;
    const head = u32[headAt]!;
    const w = p >>> 2;
    u32[w] = head;
    u32[w + 1] = 0;
    if (head !== 0) u32[(head >>> 2) + 1] = p;
    u32[headAt] = p;
    const fl = index >>> SL_BITS;
    u32[hw + H_SL_BITMAPS + fl] = u32[hw + H_SL_BITMAPS + fl]! | (1 << (index & (SL_COUNT - 1)));
    u32[hw + H_FL_BITMAP] = u32[hw + H_FL_BITMAP]! | (1 << fl);
  }

  removeFree(p: number, size: number): void {
    const u32 = this.u32;
    const hw = this.hw;
    const w = p >>> 2;
    const next = u32[w]!;
    const prev = u32[w + 1]!;
    if (next !== 0) u32[(next >>> 2) + 1] = prev;
    if (prev !== 0) {
      u32[prev >>> 2] = next;
    } else {
      const index = listIndex(size);
      u32[hw + H_HEADS + index] = next;
      if (next === 0) {
        const fl = index >>> SL_BITS;
        const slMap = u32[hw + H_SL_BITMAPS + fl]! & ~(1 << (index & (SL_COUNT - 1)));
        u32[hw + H_SL_BITMAPS + fl] = slMap;
        if (slMap === 0) u32[hw + H_FL_BITMAP] = u32[hw + H_FL_BITMAP]! & ~(1 << fl);
      }
    }
  }

  /**
   * A free block of at least `size` bytes, found in O(1): the first block of the first non-empty
   * list whose every block is large enough (good fit), or 0 when there is none.
   */
  findFree(size: number): number {
    const u32 = this.u32;
    const hw = this.hw;
    // the list of the size rounded up to the next list boundary: every block on it fits
    const index = listIndex(searchSize(size));
    let fl = index >>> SL_BITS;
    if (fl >= FL_COUNT) return 0;
    let slMap = u32[hw + H_SL_BITMAPS + fl]! & (~0 << (index & (SL_COUNT - 1)));
    if (slMap === 0) {
      const flMap = fl + 1 < FL_COUNT ? u32[hw + H_FL_BITMAP]! & (~0 << (fl + 1)) : 0;
      if (flMap === 0) return 0;
      fl = lowestBit(flMap);
      slMap = u32[hw + H_SL_BITMAPS + fl]!;
    }
    return u32[hw + H_HEADS + fl * SL_COUNT + lowestBit(slMap)]!;
  }

  // -------------------------------------------------------------------------------------------
  // Allocation

  /** Allocates `n` bytes (1 <= n < 4 GiB). @returns the payload address, or 0 */
  malloc(n: number): number {
    if (n >= this.mmapThreshold) return this.largeAlloc(n, ALIGNMENT);
    const size = blockSizeFor(n);
    let p = this.findFree(size);
    if (p === 0) {
      // a heap slot's heap first frees what other threads freed into it (a plain load of the list)
      if (this.slot !== 0 && this.u32[this.hw + H_INBOX] !== 0 && this.drainRemote() !== 0) p = this.findFree(size);
      // when the memory cannot grow, a block of the request's own list may still fit
      if (p === 0) p = this.grow(size) ? this.findFree(size) : this.fitInList(size);
      if (p === 0) return 0;
    }
    return this.take(p, size);
  }

  /**
   * Frees every block other threads pushed onto this heap slot's remote-free list: one exchange
   * takes the whole list, then each block is freed as the heap's own (a large block's region is
   * unmapped). A block that is not what the list promises (a used block of this heap with its
   * pending mark: something wrote to it after it was freed) stops the drain; it and the rest of the
   * list are left alone and counted, and check() reports them.
   *
   * @returns the number of blocks freed
   */
  drainRemote(): number {
    let p = Atomics.exchange(this.memory.i32, this.hw + H_INBOX, 0) >>> 0;
    let freed = 0;
    while (p !== 0) {
      this.sync();
      const u32 = this.u32;
      const kind = this.validate(p);
      if (kind === NOT_A_BLOCK || this.u8[this.pageSlots + (p >>> 16)] !== this.slot || (u32[(p >>> 2) + 1]! | 0) !== this.pendingMark(p)) {
        u32[this.hw + H_INBOX_DAMAGE] = u32[this.hw + H_INBOX_DAMAGE]! + 1;
        break;
      }
      const next = u32[p >>> 2]!;
      // the mark goes, so that no block handed out again carries it
      u32[(p >>> 2) + 1] = 0;
      if (kind === KIND_BLOCK) this.free(p);
      else this.largeFree(p);
      freed++;
      p = next;
    }
    this.sync();
    return freed;
  }

  /**
   * The first block on the list that `size` maps to, when it holds `size` bytes, else 0. findFree()
   * skips that list (not all of its blocks fit); this is the O(1) last resort of a full memory,
   * which finds, say, the block just freed by a program that frees and allocates one size.
   */
  fitInList(size: number): number {
    const head = this.u32[this.hw + H_HEADS + listIndex(size)]!;
    return head !== 0 && (this.u32[(head >>> 2) - 1]! & ~FLAG_MASK) >= size ? head : 0;
  }

  /**
   * Makes a used block of `size` bytes out of the free block `p`. When the rest can stay a free
   * block, the used block is carved from the END of `p`: `p` keeps its address, and keeps its
   * place on its free list when its new size maps to the same list. That spares the list
   * neighbours (cache misses on a large heap) most of the time.
   *
   *     before:  | p: free, blockSize                      | next
   *     after:   | p: free, rest      | q: used, size       | next
   */
  take(p: number, size: number): number {
    const u32 = this.u32;
    const hw = this.hw;
    const w = p >>> 2;
    const header = u32[w - 1]!;
    const blockSize = header & ~FLAG_MASK;
    const next = p + blockSize;
    const nextHeader = u32[(next >>> 2) - 1]!;
    if ((header & FIRST) !== 0 && p === u32[hw + H_EMPTY_SEGMENT_BLOCK]) u32[hw + H_EMPTY_SEGMENT_BLOCK] = 0;
    const rest = blockSize - size;
    let q = p;
    if (rest >= MIN_BLOCK) {
      if (listIndex(rest) !== listIndex(blockSize)) {
        this.removeFree(p, blockSize);
        this.insertFree(p, rest);
      }
      u32[w - 1] = rest | (header & (FREE | FIRST));
      u32[w - 2] = this.check(p, rest);
      q = p + rest;
      u32[(q >>> 2) - 1] = size | PREV_FREE;
      u32[(q >>> 2) - 2] = rest;
    } else {
      this.removeFree(p, blockSize);
      size = blockSize;
      u32[w - 1] = size | (header & FIRST);
    }
    // the block after is no longer preceded by a free block
    u32[(next >>> 2) - 1] = nextHeader & ~PREV_FREE;
    u32[(next >>> 2) - 2] = this.check(next, nextHeader & ~FLAG_MASK);
    return q;
  }

  /** Allocates `n` bytes at a multiple of `alignment` (a power of two above 16). */
  memalign(alignment: number, n: number): number {
    const size = blockSizeFor(n);
    if (size + alignment >= this.mmapThreshold) return this.largeAlloc(n, alignment);
    // a block of size + alignment bytes always holds an aligned payload with either no gap
    // before it or a gap of at least 16 bytes, which can be given back
    const p = this.malloc(size + alignment - BLOCK_HEADER);
    if (p === 0) return 0;
    const u32 = this.u32;
    let header = u32[(p >>> 2) - 1]!;
    let blockSize = header & ~FLAG_MASK;
    let aligned = p;
    if ((p & (alignment - 1)) !== 0) {
      aligned = Math.ceil((p + MIN_BLOCK) / alignment) * alignment;
      this.releaseFront(p, header, aligned - p);
      header = u32[(aligned >>> 2) - 1]!;
      blockSize = header & ~FLAG_MASK;
    }
    this.shrink(aligned, header, blockSize, size);
    return aligned;
  }

  /**
   * Gives the first `gap` bytes of the used block `p` (header `header`) back: to the free block
   * on its left when there is one, else as a new free block. The used block then starts at
   * `p + gap`.
   */
  releaseFront(p: number, header: number, gap: number): void {
    const u32 = this.u32;
    const blockSize = header & ~FLAG_MASK;
    let free = p;
    let freeSize = gap;
    if ((header & PREV_FREE) !== 0) {
      const leftSize = u32[(p >>> 2) - 2]!;
      free = p - leftSize;
      freeSize += leftSize;
      this.removeFree(free, leftSize);
      u32[(free >>> 2) - 1] = freeSize | FREE | (u32[(free >>> 2) - 1]! & FIRST);
    } else {
      u32[(p >>> 2) - 1] = freeSize | FREE | (header & FIRST);
    }
    u32[(free >>> 2) - 2] = this.check(free, freeSize);
    const q = p + gap;
    u32[(q >>> 2) - 1] = (blockSize - gap) | PREV_FREE;
    u32[(q >>> 2) - 2] = freeSize;
    this.insertFree(free, freeSize);
  }

  // -------------------------------------------------------------------------------------------
  // Freeing

  /**
   * Frees the used block `p` (validated), coalescing with free neighbours at once. When it merges
   * into a free block on its left whose list does not change, that block stays where it is on its
   * list (no list neighbours touched).
   */
  free(p: number): void {
    const u32 = this.u32;
    const header = u32[(p >>> 2) - 1]!;
    const size = header & ~FLAG_MASK;
    let total = size;
    let next = p + size;
    let nextHeader = u32[(next >>> 2) - 1]!;
    if ((nextHeader & FREE) !== 0) {
      const nextSize = nextHeader & ~FLAG_MASK;
      this.removeFree(next, nextSize);
      total += nextSize;
      next += nextSize;
      nextHeader = u32[(next >>> 2) - 1]!;
    }
    let start = p;
    let first = header & FIRST;
    let listed = false;
    if ((header & PREV_FREE) !== 0) {
      const leftSize = u32[(p >>> 2) - 2]!;
      start = p - leftSize;
      total += leftSize;
      first = u32[(start >>> 2) - 1]! & FIRST;
      if (listIndex(leftSize) === listIndex(total)) listed = true;
      else this.removeFree(start, leftSize);
    }
    u32[(start >>> 2) - 1] = total | FREE | first;
    u32[(start >>> 2) - 2] = this.check(start, total);
    u32[(next >>> 2) - 1] = nextHeader | PREV_FREE;
    u32[(next >>> 2) - 2] = total;
    // a first block that reaches the sentinel (size 0) is a wholly free segment
    if (first !== 0 && nextHeader < ALIGNMENT && this.segmentEmptied(start, total, listed)) return;
    if (!listed) this.insertFree(start, total);
  }

  /**
   * Called when the segment whose first block is `p` became wholly free. The first segment stays;
   * of the others, one is kept for reuse and any further one is unmapped. `listed`: whether the
   * block (of `size` bytes) is on its free list already.
   * @returns true when the segment was unmapped (its block must not go on a free list)
   */
  segmentEmptied(p: number, size: number, listed: boolean): boolean {
    const u32 = this.u32;
    const hw = this.hw;
    if (p === this.firstBlock) return false;
    if (u32[hw + H_EMPTY_SEGMENT_BLOCK] === 0) {
      u32[hw + H_EMPTY_SEGMENT_BLOCK] = p;
      return false;
    }
    if (listed) this.removeFree(p, size);
    const segment = p - SEGMENT_HEADER_BYTES - BLOCK_HEADER;
    const s = segment >>> 2;
    const next = u32[s + SEG_NEXT]!;
    const prev = u32[s + SEG_PREV]!;
    if (next !== 0) u32[(next >>> 2) + SEG_PREV] = prev;
    if (prev !== 0) u32[(prev >>> 2) + SEG_NEXT] = next;
    else u32[hw + H_SEGMENT_HEAD] = next;
    u32[hw + H_SEGMENT_COUNT] = u32[hw + H_SEGMENT_COUNT]! - 1;
    u32[hw + H_SEGMENT_BYTES] = u32[hw + H_SEGMENT_BYTES]! - u32[s + SEG_SIZE]!;
    this.assignPages(segment, u32[s + SEG_SIZE]!, false);
    this.memory.unmap(segment);
    this.sync();
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Resizing

  /** Resizes the used block `p` (validated, in a segment) to hold `n` bytes. @returns address or 0 */
  realloc(p: number, n: number): number {
    const u32 = this.u32;
    const header = u32[(p >>> 2) - 1]!;
    const blockSize = header & ~FLAG_MASK;
    if (n >= this.mmapThreshold) return this.move(p, n, blockSize - BLOCK_HEADER);
    const size = blockSizeFor(n);
    if (size <= blockSize) {
      this.shrink(p, header, blockSize, size);
      return p;
    }
    // grow into the free block to the right when together they are large enough
    const next = p + blockSize;
    const nextHeader = u32[(next >>> 2) - 1]!;
    if ((nextHeader & FREE) !== 0 && blockSize + (nextHeader & ~FLAG_MASK) >= size) {
      const nextSize = nextHeader & ~FLAG_MASK;
      this.removeFree(next, nextSize);
      const total = blockSize + nextSize;
      const after = next + nextSize;
      const afterHeader = u32[(after >>> 2) - 1]!;
      u32[(after >>> 2) - 1] = afterHeader & ~PREV_FREE;
      u32[(after >>> 2) - 2] = this.check(after, afterHeader & ~FLAG_MASK);
      const merged = total | (header & (FIRST | PREV_FREE));
      u32[(p >>> 2) - 1] = merged;
      if ((header & PREV_FREE) === 0) u32[(p >>> 2) - 2] = this.check(p, total);
      this.shrink(p, merged, total, size);
      return p;
    }
    return this.move(p, n, blockSize - BLOCK_HEADER);
  }

  /** Moves the data of block `p` (usable bytes `usable`) to a new block of `n` bytes. */
  move(p: number, n: number, usable: number): number {
    const target = this.malloc(n);
    if (target === 0) return 0;
    this.copyPayload(target, p, Math.min(usable, n));
    if ((this.u32[(p >>> 2) - 1]! & LARGE) !== 0) this.largeFree(p);
    else this.free(p);
    return target;
  }

  /**
   * Shrinks the used block `p` (header `header`, `blockSize` bytes) to `size` bytes when the
   * tail can become a free block, coalescing that tail with a free block to its right.
   */
  shrink(p: number, header: number, blockSize: number, size: number): void {
    const rest = blockSize - size;
    if (rest < MIN_BLOCK) return;
    const u32 = this.u32;
    u32[(p >>> 2) - 1] = size | (header & (FIRST | PREV_FREE));
    if ((header & PREV_FREE) === 0) u32[(p >>> 2) - 2] = this.check(p, size);
    const tail = p + size;
    let tailSize = rest;
    let next = p + blockSize;
    let nextHeader = u32[(next >>> 2) - 1]!;
    if ((nextHeader & FREE) !== 0) {
      const nextSize = nextHeader & ~FLAG_MASK;
      this.removeFree(next, nextSize);
      tailSize += nextSize;
      next += nextSize;
      nextHeader = u32[(next >>> 2) - 1]!;
    }
    u32[(tail >>> 2) - 1] = tailSize | FREE;
    u32[(tail >>> 2) - 2] = this.check(tail, tailSize);
    u32[(next >>> 2) - 1] = nextHeader | PREV_FREE;
    u32[(next >>> 2) - 2] = tailSize;
    this.insertFree(tail, tailSize);
  }

  /**
   * Copies `bytes` bytes from the payload `from` to the payload `to` of another block. Short
   * copies go word by word, rounded up to whole words (both blocks hold them: usable sizes are
   * multiples of 8); longer ones take copyWithin, a builtin call that costs about 60 ns whatever
   * the length (see SHORT_COPY).
   */
  copyPayload(to: number, from: number, bytes: number): void {
    if (bytes > SHORT_COPY) {
      this.u8.copyWithin(to, from, from + bytes);
      return;
    }
    const u32 = this.u32;
    const end = (from >>> 2) + ((bytes + 3) >>> 2);
    for (let s = from >>> 2, d = to >>> 2; s < end; s++, d++) u32[d] = u32[s]!;
  }

  /** Zeroes the first `bytes` bytes of the payload `p` (calloc); short ones word by word, as copyPayload(). */
  zeroPayload(p: number, bytes: number): void {
    if (bytes > SHORT_COPY) {
      this.u8.fill(0, p, p + bytes);
      return;
    }
    const u32 = this.u32;
    const end = (p >>> 2) + ((bytes + 3) >>> 2);
    for (let w = p >>> 2; w < end; w++) u32[w] = 0;
  }

  // -------------------------------------------------------------------------------------------
  // Segments

  /**
   * Makes room for a block of `size` bytes: extends a segment in place when the pages after it
   * are free (the lowest such segment, so that a heap closes the gaps left by unmapped regions
   * before it grows the memory), else maps a new segment. The new free block is at least
   * searchSize(size), so that findFree(size) finds it.
   *
   * The two steps differ. An extension is small (the configured segment size, or a 64th of the
   * heap when that is more): it is a remap, cheap to repeat, and what it adds past the request is
   * the free tail that the memory holds for nothing until the heap grows into it (an eighth of the
   * heap, as before, left py_compileall's heap 0.79 MB of free tail at its peak). A new segment is
   * geometric (an eighth of the heap, at least the segment size, at most 64 MiB beyond the
   * request), so that a heap whose segments cannot grow in place has few of them.
   * @returns false when the memory can give neither
   */
  grow(size: number): boolean {
    const u32 = this.u32;
    const hw = this.hw;
    const segmentSize = u32[hw + H_SEGMENT_SIZE]!;
    const heapBytes = u32[hw + H_SEGMENT_BYTES]!;
    const step = Math.min(MAX_SEGMENT_STEP, Math.max(segmentSize, heapBytes >>> 3));
    const need = searchSize(size);
    const extension = roundUpPages(Math.max(segmentSize, heapBytes >>> 6, need));
    if (this.beforeMap !== null) {
      this.beforeMap();
      this.sync();
    }
    // growth is rare (each step is at least 256 KiB and a 64th of the heap), so a list and a sort cost nothing here
    for (const segment of segmentsOf(u32, hw).sort((a, b) => a - b)) {
      const oldSize = this.u32[(segment >>> 2) + SEG_SIZE]!;
      if (oldSize + extension <= MAX_SEGMENT_BYTES && this.memory.remap(segment, oldSize + extension)) {
        this.assignPages(segment + oldSize, extension, true);
        this.sync();
        this.extendSegment(segment, oldSize, extension);
        return true;
      }
    }
    const bytes = roundUpPages(Math.max(step, need + SEGMENT_OVERHEAD));
    if (bytes > MAX_SEGMENT_BYTES) return false;
    const segment = this.memory.map(bytes, { owner: RegionOwner.Malloc });
    this.sync();
    if (segment === 0) return false;
    this.assignPages(segment, bytes, true);
    this.initSegment(segment, bytes, segment + SEGMENT_HEADER_BYTES);
    return true;
  }

  /**
   * Writes a new segment of `bytes` bytes at `segment` whose blocks start after `dataStart`:
   * one free block spanning it, and the sentinel.
   */
  initSegment(segment: number, bytes: number, dataStart: number): void {
    const u32 = this.u32;
    const hw = this.hw;
    const s = segment >>> 2;
    const first = (dataStart + BLOCK_HEADER + ALIGNMENT - 1) & ~(ALIGNMENT - 1);
    const end = segment + bytes;
    const size = end - first;
    u32[s + SEG_MAGIC] = SEGMENT_MAGIC;
    u32[s + SEG_SIZE] = bytes;
    u32[s + SEG_HEAP] = this.address;
    u32[s + SEG_FIRST_BLOCK] = first;
    const head = u32[hw + H_SEGMENT_HEAD]!;
    u32[s + SEG_NEXT] = head;
    u32[s + SEG_PREV] = 0;
    if (head !== 0) u32[(head >>> 2) + SEG_PREV] = segment;
    u32[hw + H_SEGMENT_HEAD] = segment;
    u32[hw + H_SEGMENT_COUNT] = u32[hw + H_SEGMENT_COUNT]! + 1;
    u32[hw + H_SEGMENT_BYTES] = u32[hw + H_SEGMENT_BYTES]! + bytes;
    u32[(first >>> 2) - 1] = size | FREE | FIRST;
    u32[(first >>> 2) - 2] = this.check(first, size);
    u32[(end >>> 2) - 1] = PREV_FREE;
    u32[(end >>> 2) - 2] = size;
    this.insertFree(first, size);
  }

  /**
   * The segment at `segment` (of `oldSize` bytes) has just been remapped `extension` bytes
   * longer: the old sentinel's header becomes the header of a free block over the new pages,
   * merged with the segment's last block when that one is free.
   */
  extendSegment(segment: number, oldSize: number, extension: number): void {
    const u32 = this.u32;
    const hw = this.hw;
    const oldEnd = segment + oldSize;
    const sentinel = u32[(oldEnd >>> 2) - 1]!;
    let p = oldEnd;
    let size = extension;
    let first = 0;
    if ((sentinel & PREV_FREE) !== 0) {
      const leftSize = u32[(oldEnd >>> 2) - 2]!;
      p = oldEnd - leftSize;
      this.removeFree(p, leftSize);
      first = u32[(p >>> 2) - 1]! & FIRST;
      size += leftSize;
    }
    u32[(p >>> 2) - 1] = size | FREE | first;
    u32[(p >>> 2) - 2] = this.check(p, size);
    const end = oldEnd + extension;
    u32[(end >>> 2) - 1] = PREV_FREE;
    u32[(end >>> 2) - 2] = size;
    u32[(segment >>> 2) + SEG_SIZE] = oldSize + extension;
    u32[hw + H_SEGMENT_BYTES] = u32[hw + H_SEGMENT_BYTES]! + extension;
    this.insertFree(p, size);
  }

  // -------------------------------------------------------------------------------------------
  // Large blocks: one region each

  /** Maps a region for a block of `n` bytes aligned to `alignment`. @returns address or 0 */
  largeAlloc(n: number, alignment: number): number {
    const offset = alignment <= LARGE_HEADER_BYTES ? LARGE_HEADER_BYTES : alignment;
    if (offset + n > MAX_MEMORY_BYTES) return 0;
    // a region's worth of blocks may wait on the remote-free list: they go before a new region comes
    if (this.slot !== 0 && this.u32[this.hw + H_INBOX] !== 0) this.drainRemote();
    if (this.beforeMap !== null) this.beforeMap();
    const region = this.memory.map(offset + n, {
      alignment: alignment > PAGE_SIZE ? alignment : PAGE_SIZE,
      owner: RegionOwner.MallocLarge,
    });
    this.sync();
    if (region === 0) return 0;
    const u32 = this.u32;
    const hw = this.hw;
    const regionSize = roundUpPages(offset + n);
    this.assignPages(region, regionSize, true);
    const r = region >>> 2;
    const p = region + offset;
    u32[r + LARGE_MAGIC_AT] = LARGE_MAGIC;
    u32[r + LARGE_REGION_SIZE] = regionSize;
    u32[r + LARGE_HEAP] = this.address;
    u32[r + LARGE_PAYLOAD] = p;
    const head = u32[hw + H_LARGE_HEAD]!;
    u32[r + LARGE_NEXT] = head;
    u32[r + LARGE_PREV] = 0;
    if (head !== 0) u32[(head >>> 2) + LARGE_PREV] = region;
    u32[hw + H_LARGE_HEAD] = region;
    const usable = region + regionSize - p;
    u32[(p >>> 2) - 1] = usable | LARGE;
    u32[(p >>> 2) - 2] = region ^ LARGE_CHECK_MAGIC;
    u32[hw + H_LARGE_COUNT] = u32[hw + H_LARGE_COUNT]! + 1;
    u32[hw + H_LARGE_BYTES] = u32[hw + H_LARGE_BYTES]! + regionSize;
    u32[hw + H_LARGE_USABLE] = u32[hw + H_LARGE_USABLE]! + usable;
    return p;
  }

  /** The region of the large block `p`. */
  largeRegion(p: number): number {
    return (this.u32[(p >>> 2) - 2]! ^ LARGE_CHECK_MAGIC) >>> 0;
  }

  /** Frees the large block `p` (validated): unlinks it and unmaps its region. */
  largeFree(p: number): void {
    const u32 = this.u32;
    const hw = this.hw;
    const region = this.largeRegion(p);
    const r = region >>> 2;
    const next = u32[r + LARGE_NEXT]!;
    const prev = u32[r + LARGE_PREV]!;
    if (next !== 0) u32[(next >>> 2) + LARGE_PREV] = prev;
    if (prev !== 0) u32[(prev >>> 2) + LARGE_NEXT] = next;
    else u32[hw + H_LARGE_HEAD] = next;
    const header = u32[(p >>> 2) - 1]!;
    u32[hw + H_LARGE_COUNT] = u32[hw + H_LARGE_COUNT]! - 1;
    u32[hw + H_LARGE_BYTES] = u32[hw + H_LARGE_BYTES]! - u32[r + LARGE_REGION_SIZE]!;
    u32[hw + H_LARGE_USABLE] = u32[hw + H_LARGE_USABLE]! - (header - (header & FLAG_MASK));
    this.assignPages(region, u32[r + LARGE_REGION_SIZE]!, false);
    this.memory.unmap(region);
    this.sync();
  }

  /** Resizes the large block `p` (validated) to `n` bytes. @returns address or 0 */
  largeRealloc(p: number, n: number): number {
    const u32 = this.u32;
    const header = u32[(p >>> 2) - 1]!;
    const usable = header - (header & FLAG_MASK);
    // a block that shrinks below the threshold moves back into the heap
    if (n < this.mmapThreshold) return this.move(p, n, usable);
    const region = this.largeRegion(p);
    const r = region >>> 2;
    const regionSize = u32[r + LARGE_REGION_SIZE]!;
    const offset = p - region;
    const newRegionSize = roundUpPages(offset + n);
    if (newRegionSize === regionSize) return p;
    // the pages a shrink gives back are cleared before, those a growth takes marked after
    if (newRegionSize < regionSize) this.assignPages(region + newRegionSize, regionSize - newRegionSize, false);
    if (offset + n <= MAX_MEMORY_BYTES && this.memory.remap(region, newRegionSize)) {
      if (newRegionSize > regionSize) this.assignPages(region + regionSize, newRegionSize - regionSize, true);
      this.sync();
      const w = this.u32;
      const hw = this.hw;
      const newUsable = region + newRegionSize - p;
      w[r + LARGE_REGION_SIZE] = newRegionSize;
      w[(p >>> 2) - 1] = newUsable | LARGE;
      w[hw + H_LARGE_BYTES] = w[hw + H_LARGE_BYTES]! - regionSize + newRegionSize;
      w[hw + H_LARGE_USABLE] = w[hw + H_LARGE_USABLE]! - usable + newUsable;
      return p;
    }
    const target = this.largeAlloc(n, ALIGNMENT);
    if (target === 0) return 0;
    this.copyPayload(target, p, Math.min(usable, n));
    this.largeFree(p);
    return target;
  }

  // -------------------------------------------------------------------------------------------
  // Validation

  /**
   * Decides in O(1), without writing anything, whether `p` is a used block of this heap.
   * `p` must be an integer in [0, 2^32).
   * @returns KIND_BLOCK, KIND_LARGE, or NOT_A_BLOCK (free() then asks diagnose() why)
   */
  validate(p: number): number {
    if ((p & (ALIGNMENT - 1)) !== 0 || p < 32) return NOT_A_BLOCK;
    const u32 = this.u32;
    const w = p >>> 2;
    if (w >= u32.length) return NOT_A_BLOCK;
    const owner = this.u8[this.pageMap + (p >>> 16)]! & PAGE_OWNER_MASK;
    const header = u32[w - 1]!;
    if (owner !== RegionOwner.Malloc) return owner === RegionOwner.MallocLarge ? this.validateLarge(p, header) : NOT_A_BLOCK;
    // the common case, in one word compare: no flags (so the header is the size) and the check
    // word holds; the heap's first block always carries FIRST
    if ((u32[w - 2]! | 0) === (p ^ header ^ this.salt) && (header & FLAG_MASK) === 0 && header >= MIN_BLOCK && p !== this.firstBlock) return KIND_BLOCK;
    const size = header & ~FLAG_MASK;
    if ((header & (FREE | LARGE)) !== 0 || size < MIN_BLOCK) return NOT_A_BLOCK;
    // FIRST stands on a segment's first block only: the heap's very first block, or one 32
    // bytes into a page (the first check word does not cover the flags)
    if ((header & FIRST) !== 0 ? p !== this.firstBlock && (p & (PAGE_SIZE - 1)) !== SEGMENT_HEADER_BYTES + BLOCK_HEADER : p === this.firstBlock) {
      return NOT_A_BLOCK;
    }
    if ((header & PREV_FREE) === 0) return (u32[w - 2]! | 0) === this.check(p, size) ? KIND_BLOCK : NOT_A_BLOCK;
    return this.validateAfterFree(p, size);
  }

  /**
   * validate() for a block whose left neighbour is free: its left word is that neighbour's size,
   * so the neighbour's own check word must hold, and, since nothing on the left vouches for this
   * block's size, the check word of the block after it must.
   */
  validateAfterFree(p: number, size: number): number {
    const u32 = this.u32;
    const w = p >>> 2;
    const leftSize = u32[w - 2]!;
    const left = p - leftSize;
    if (leftSize < MIN_BLOCK || (leftSize & FLAG_MASK) !== 0 || left < 32) return NOT_A_BLOCK;
    const leftHeader = u32[(left >>> 2) - 1]!;
    if ((leftHeader & (FREE | LARGE)) !== FREE || (leftHeader & ~FLAG_MASK) !== leftSize || (u32[(left >>> 2) - 2]! | 0) !== this.check(left, leftSize)) {
      return NOT_A_BLOCK;
    }
    const nw = w + (size >>> 2);
    if (nw > u32.length) return NOT_A_BLOCK;
    const nextHeader = u32[nw - 1]!;
    return (nextHeader & PREV_FREE) === 0 && (u32[nw - 2]! | 0) === this.check(p + size, nextHeader & ~FLAG_MASK) ? KIND_BLOCK : NOT_A_BLOCK;
  }

  /**
   * validate() for a block of another thread's heap (free-threading), which its owner may be
   * changing while this reads it. The owner rewrites a used block's PREV_FREE flag and left word
   * (two stores) when it frees or carves the block on its left, and the header and check word of
   * the block on its right when it frees or takes that one; a reader between two such stores, or
   * while the owner is descheduled between them, sees a pair that does not match. No single
   * operation of the owner changes both sides of a used block, so the block is taken when either
   * side reads right: its own check word (validate), or the block after it naming it
   * (validateByNext). Both are read again, up to REMOTE_READS times, before the pointer is refused.
   */
  validateRemote(p: number): number {
    for (let read = 0; read < REMOTE_READS; read++) {
      const kind = this.validate(p);
      if (kind !== NOT_A_BLOCK) return kind;
      if (this.validateByNext(p)) return KIND_BLOCK;
    }
    return NOT_A_BLOCK;
  }

  /**
   * The right-hand half of validate(): `p`'s header is a used block's (its size and the flags
   * that do not change while it is used), and the block `size` bytes on has PREV_FREE clear and
   * a check word that names it. Reads nothing to the left of `p`'s header.
   */
  validateByNext(p: number): boolean {
    if ((p & (ALIGNMENT - 1)) !== 0 || p < 32) return false;
    const u32 = this.u32;
    const w = p >>> 2;
    if (w >= u32.length || (this.u8[this.pageMap + (p >>> 16)]! & PAGE_OWNER_MASK) !== RegionOwner.Malloc) return false;
    const header = u32[w - 1]!;
    const size = header & ~FLAG_MASK;
    if ((header & (FREE | LARGE)) !== 0 || size < MIN_BLOCK) return false;
    if ((header & FIRST) !== 0 ? p !== this.firstBlock && (p & (PAGE_SIZE - 1)) !== SEGMENT_HEADER_BYTES + BLOCK_HEADER : p === this.firstBlock) return false;
    const nw = w + (size >>> 2);
    if (nw > u32.length) return false;
    const nextHeader = u32[nw - 1]!;
    return (nextHeader & PREV_FREE) === 0 && (u32[nw - 2]! | 0) === this.check(p + size, nextHeader & ~FLAG_MASK);
  }

  /** validate() for an address in a large-block region: the record must name it. */
  validateLarge(p: number, header: number): number {
    if ((header & FLAG_MASK) !== LARGE) return NOT_A_BLOCK;
    const u32 = this.u32;
    const region = this.largeRegion(p);
    if (region % PAGE_SIZE !== 0 || region >= p) return NOT_A_BLOCK;
    const r = region >>> 2;
    return u32[r + LARGE_MAGIC_AT] === LARGE_MAGIC &&
      u32[r + LARGE_PAYLOAD] === p &&
      u32[r + LARGE_HEAP] === this.address &&
      header - LARGE === region + u32[r + LARGE_REGION_SIZE]! - p
      ? KIND_LARGE
      : NOT_A_BLOCK;
  }

  /** Usable bytes of the used block `p` of the given kind. */
  usableSize(p: number, kind: number): number {
    const header = this.u32[(p >>> 2) - 1]!;
    const size = header - (header & FLAG_MASK);
    return kind === KIND_LARGE ? size : size - BLOCK_HEADER;
  }
}
