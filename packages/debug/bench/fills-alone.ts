/*
 * The floor under the debug hooks' cost on large blocks: an allocator that does nothing but what
 * the hooks must write for every block, 0xCD over the data on malloc and 0xDD over the data, the
 * header and the trailer on free (each with one fill), with no header, check or trailer of its
 * own but the size kept in front of the data. The hooks cannot cost less than this around the
 * same allocator; on 16..64 KiB blocks the difference between the two is everything else the
 * hooks do.
 */
import type { Allocator, LinearMemory } from "@tsmalloc/memory";

/** Bytes kept in front of the data and behind it, as the hooks' 64-bit layout. */
const HEADER = 16;
const EXTRA = 24;

export class FillsAlone implements Allocator {
  readonly name: string;
  readonly memory: LinearMemory;
  readonly #inner: Allocator;

  constructor(inner: Allocator) {
    this.#inner = inner;
    this.memory = inner.memory;
    this.name = `${inner.name}_fills`;
  }

  malloc(size: number): number {
    const head = this.#inner.malloc(size + EXTRA);
    if (head === 0) return 0;
    this.memory.u32[head >>> 2] = size;
    this.memory.u8.fill(0xcd, head + HEADER, head + HEADER + size);
    return head + HEADER;
  }

  calloc(nelem: number, elsize: number): number {
    const head = this.#inner.calloc(1, nelem * elsize + EXTRA);
    if (head === 0) return 0;
    this.memory.u32[head >>> 2] = nelem * elsize;
    return head + HEADER;
  }

  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    const old = this.memory.u32[(ptr - HEADER) >>> 2]!;
    const head = this.#inner.realloc(ptr - HEADER, size + EXTRA);
    if (head === 0) return 0;
    this.memory.u32[head >>> 2] = size;
    if (size > old) this.memory.u8.fill(0xcd, head + HEADER + old, head + HEADER + size);
    return head + HEADER;
  }

  free(ptr: number): void {
    if (ptr === 0) return;
    const head = ptr - HEADER;
    this.memory.u8.fill(0xdd, head, ptr + this.memory.u32[head >>> 2]! + EXTRA - HEADER);
    this.#inner.free(head);
  }
}
