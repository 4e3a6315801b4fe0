import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory, isTsmallocError } from "@tsmalloc/memory";

const memory = new LinearMemory(); // or new LinearMemory({ buffer: new ArrayBuffer(16 << 20) })
const heap = new Malloc(memory);

const p = heap.malloc(100); // 16-byte aligned address, 0 when out of memory
memory.u8.fill(0x2a, p, p + 100);
const q = heap.realloc(p, 10_000); // keeps the 100 bytes; p is no longer valid
console.log(memory.u8[q + 99]); // 42

const zeros = heap.calloc(256, 8); // 2,048 zeroed bytes
const page = heap.memalign(4096, 64); // posix_memalign
const big = heap.malloc(8 << 20); // >= 1 MiB: a region of its own, unmapped on free

console.log(heap.stats()); // live/free blocks and bytes, largest free block, mapped bytes
console.log(heap.check().ok); // true: every invariant of the heap holds

for (const block of [q, zeros, page, big]) heap.free(block);
try {
  heap.free(q); // a double free is refused, and the heap stays as it was
} catch (error) {
  if (isTsmallocError(error)) console.log(error.code); // ERR_TSMALLOC_DOUBLE_FREE
}
