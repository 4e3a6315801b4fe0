import { Malloc } from "@tsmalloc/malloc";
import { isTsmallocError, LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";

const memory = new LinearMemory();
const obj = new Pymalloc(new Malloc(memory)); // small blocks from pools, the rest from malloc

const small = obj.malloc(24); // size class 1: a 32-byte block from a pool
const large = obj.malloc(4096); // above 512 bytes: a block of the raw allocator
console.log(obj.owns(small), obj.owns(large)); // true false (CPython's address_in_range)
console.log(obj.usableSize(small)); // 32

const same = obj.realloc(small, 30); // 30 > 3/4 of 32: stays where it is
const moved = obj.realloc(same, 16); // 16 <= 3/4 of 32: moves to a 16-byte block
console.log(same === small, moved !== same); // true true

const records = Array.from({ length: 1000 }, () => obj.calloc(1, 48)); // zeroed, 48-byte class
console.log(obj.allocatedBlocks()); // 1002 (sys.getallocatedblocks())
console.log(obj.formatStats()); // what sys._debugmallocstats() prints for pymalloc

for (const p of records) obj.free(p);
obj.free(moved);
obj.free(large);
try {
  obj.free(moved); // a second free is refused, and the heap stays as it was
} catch (error) {
  if (isTsmallocError(error)) console.log(error.code); // ERR_TSMALLOC_DOUBLE_FREE
}
console.log(obj.check().ok); // true: every invariant of the heap holds
