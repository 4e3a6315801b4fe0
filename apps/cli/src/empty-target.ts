/*
 * The empty allocator: a bump pointer through one arena, whose free does nothing. A replay
 * through it costs the replay loop's own share, and nothing an allocator does, so `tsmalloc
 * bench`'s `empty` column shows what of the other columns is the loop. Each block has a 16-byte
 * header holding its size (realloc copies the old bytes to a new block). The pointer goes round
 * the arena's first MiB, the ring: a block that would cross the ring's end starts again at the
 * arena's start, over old blocks, which a timing replay never reads. So the replay keeps touching
 * the same few pages (as an allocator that reuses freed memory does) instead of faulting in a new
 * page of a bare arena every few blocks, which would cost more than the loop. A block larger than
 * the ring starts at the arena's start and reaches into the rest of it:
 *
 *   arena: | hdr | block | hdr | block ... | hdr | block |    :                            |
 *          0                                       bump ^    RING_BYTES (wraps to 0)     ARENA_BYTES
 *
 * c/tsmalloc-replay.c has the same allocator in C (the `empty-c` column).
 */
import type { ReplayTarget, TargetMemory } from "@tsmalloc/trace";

/** The arena's bytes: any request larger than this (less a header) returns 0 (NULL). */
export const EMPTY_ARENA_BYTES: number = 256 * 2 ** 20;

/** The part of the arena the pointer goes round (see the module comment). */
const RING_BYTES = 2 ** 20;

/** The header before each block, and the blocks' alignment. */
const HEADER = 16;

/** The empty allocator as a replay target (see the module comment). Never throws. */
export class EmptyTarget implements ReplayTarget {
  readonly memory: TargetMemory;
  readonly #u8: Uint8Array;
  /** The same bytes as 8-byte words: the headers' size fields. */
  readonly #words: Float64Array;
  #bump = 0;

  constructor() {
    const buffer = new ArrayBuffer(EMPTY_ARENA_BYTES);
    this.#u8 = new Uint8Array(buffer);
    this.#words = new Float64Array(buffer);
    this.memory = { u8: this.#u8 };
  }

  malloc(size: number): number {
    return this.memalign(HEADER, size);
  }

  calloc(nelem: number, elsize: number): number {
    const bytes = nelem * elsize;
    const p = this.memalign(HEADER, bytes);
    if (p !== 0) this.#u8.fill(0, p, p + bytes);
    return p;
  }

  realloc(ptr: number, size: number): number {
    const p = this.memalign(HEADER, size);
    if (p !== 0) this.#u8.copyWithin(p, ptr, ptr + Math.min(this.#words[(ptr - 8) / 8]!, size));
    return p;
  }

  free(_ptr: number): void {
    // nothing: the loop's share is what is measured
  }

  /** @returns a block aligned to `alignment` (16 at least), or 0 when the arena cannot hold it */
  memalign(alignment: number, size: number): number {
    const align = alignment < HEADER ? HEADER : alignment;
    if (!(size <= EMPTY_ARENA_BYTES - HEADER - align)) return 0;
    // (both below 2^28 here: integer arithmetic is exact)
    // (a block of 0 bytes takes 16 too: the C replayer touches a byte of every block)
    const need = size === 0 ? HEADER : (size + HEADER - 1) & -HEADER;
    let p = (this.#bump + HEADER + align - 1) & -align;
    if (p + need > RING_BYTES) p = (HEADER + align - 1) & -align;
    this.#bump = p + need;
    this.#words[(p - 8) / 8] = size;
    return p;
  }
}
