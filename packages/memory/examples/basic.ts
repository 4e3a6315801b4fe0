import { LinearMemory, RegionOwner, isTsmallocError } from "@tsmalloc/memory";

// A growable WebAssembly.Memory; its first pages hold tsmalloc's header (the region table).
const memory = new LinearMemory();

// Map 1 MiB aligned to 1 MiB, owned by an arena. Mapped memory is always zero.
const arena = memory.map(1 << 20, { alignment: 1 << 20, owner: RegionOwner.Arena });
console.log(`arena at 0x${arena.toString(16)}, memory is now ${memory.byteLength} bytes`);

// Views cover the whole memory; take them again after anything that may grow it.
const floats = memory.view(Float64Array, arena, 4);
floats.set([1.5, 2.5, 3.5, 4.5]);
console.log(memory.f64[arena / 8 + 2]); // 3.5

console.log(memory.regions().map((r) => `${r.address.toString(16)}+${r.size} owner ${r.owner}`));

memory.unmap(arena); // the pages can now serve anybody else
try {
  memory.unmap(arena); // twice is an error, and changes nothing
} catch (error) {
  if (isTsmallocError(error)) console.log(error.code); // ERR_TSMALLOC_INVALID_POINTER
}
