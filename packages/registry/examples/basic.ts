import { createRuntime, Domain } from "@tsmalloc/registry";

// malloc for RAW, pymalloc for MEM and OBJ, as in a release build of CPython
const runtime = createRuntime({ allocator: "default" });
console.log(runtime.allocatorName()); // CPython's _PyMem_GetCurrentAllocatorName()

// PyObject_Malloc / PyMem_Malloc / PyMem_RawMalloc
const small = runtime.objMalloc(24); // a 32-byte block from a pymalloc pool
const buffer = runtime.memMalloc(4000); // over 512 bytes: pymalloc hands it to the RAW domain
const raw = runtime.rawCalloc(16, 8); // thread-safe, zeroed
console.log(runtime.pymallocHeap?.owns(small), runtime.pymallocHeap?.owns(buffer));
console.log(runtime.getAllocator(Domain.OBJ).name, runtime.getAllocator(Domain.RAW).name);

// sys._debugmallocstats(): the first lines of pymalloc's table
console.log(runtime.debugMallocStats().split("\n").slice(0, 4).join("\n"));

runtime.objFree(small);
runtime.memFree(buffer);
runtime.rawFree(raw);

// PYTHONMALLOC=pymalloc_debug: every domain wrapped in CPython's debug hooks
const debug = createRuntime({ allocator: "pymalloc_debug" });
const p = debug.memMalloc(10);
try {
  debug.rawFree(p); // a MEM block freed through RAW
} catch (error) {
  console.log((error as Error).message);
}
debug.memFree(p);
console.log(debug.allocatorName());
