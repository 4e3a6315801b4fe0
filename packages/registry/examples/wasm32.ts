import { createRuntime, Domain } from "@tsmalloc/registry";

// 32-bit CPython, as its WebAssembly builds run: pymalloc's wasm32 layout (8-byte classes, 4 KiB
// pools, 256 KiB arenas, 32-byte pool headers) and debug hooks whose fields are 4 bytes (SST 4)
const runtime = createRuntime({ platform: "wasm32", allocator: "pymalloc_debug" });
console.log(runtime.platform, runtime.pymallocHeap?.layout.poolOverhead, runtime.getAllocator(Domain.OBJ).name);

const p = runtime.objMalloc(20); // 20 + 12 bytes from pymalloc: a 32-byte block, 8-byte aligned
console.log(p % 8, runtime.memory.dataView.getUint32(p - 8, false)); // 0 20: the 4-byte size field
runtime.memory.u8[p + 20] = 0x78; // one byte too far
try {
  runtime.objFree(p);
} catch (error) {
  console.log((error as Error).message);
}
runtime.memory.u8[p + 20] = 0xfd;
runtime.objFree(p);

console.log(runtime.debugMallocStats().split("\n")[0]); // sys._debugmallocstats(): 64 classes
