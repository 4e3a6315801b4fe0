import { DebugCorruptionError, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";

// PYTHONMALLOC=debug for the MEM domain: CPython's debug hooks around a tsmalloc allocator.
const mem = withDebugHooks(new Malloc(), { api: "m" });
const p = mem.malloc(16); // 16 bytes of 0xCD between guard bytes
console.log(mem.memory.u8[p]!.toString(16)); // cd

mem.memory.u8[p + 16] = 0x78; // one byte too far: an 'x' over the first trailing guard byte
try {
  mem.free(p); // checked first: nothing is freed
} catch (error) {
  if (error instanceof DebugCorruptionError) {
    console.log(error.code, error.func); // ERR_TSMALLOC_CORRUPTION debugRawFree
    process.stdout.write(error.report); // CPython's report, line for line
  }
}

// A handler instead of an exception; the call that failed then does nothing.
const raw = withDebugHooks(mem.wrapped, { api: "r", onCorruption: (e) => console.log(`handled: ${e.message}`) });
raw.free(p); // a MEM block freed through the RAW API: bad ID

mem.memory.u8[p + 16] = 0xfd; // put the guard byte back, and free for real
mem.free(p);
console.log(mem.isFreed(p)); // true: freed memory reads 0xDD (CPython's _PyObject_IsFreed)
