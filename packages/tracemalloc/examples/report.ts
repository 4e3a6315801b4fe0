import { DebugCorruptionError } from "@tsmalloc/debug";
import { createRuntime } from "@tsmalloc/registry";
import { createTracemalloc } from "@tsmalloc/tracemalloc";

// PYTHONMALLOC=pymalloc_debug PYTHONTRACEMALLOC=2
const runtime = createRuntime({ allocator: "pymalloc_debug" });
createTracemalloc(runtime).start(2);

function parse(): number {
  return runtime.objMalloc(16);
}

const p = parse();
runtime.memory.u8[p + 16] = 0x78; // one byte too far
try {
  runtime.objFree(p);
} catch (error) {
  if (error instanceof DebugCorruptionError) process.stdout.write(error.report);
}
