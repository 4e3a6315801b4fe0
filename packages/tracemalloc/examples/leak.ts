import { createRuntime } from "@tsmalloc/registry";
import { createTracemalloc } from "@tsmalloc/tracemalloc";

const runtime = createRuntime();
const tracer = createTracemalloc(runtime);
tracer.start(2); // two frames per traceback: the line that allocated, and its caller

// A request handler that keeps a 100-byte record per request in the heap, and a scratch buffer
// while it works. The bug: it forgets to drop every tenth record.
const records = new Map<number, number>();
function handle(request: number): void {
  const record = runtime.memMalloc(100);
  records.set(request, record);
  const scratch = runtime.objMalloc(48);
  runtime.objFree(scratch);
  if (request % 10 !== 0) {
    runtime.memFree(record);
    records.delete(request);
  }
}

const buffers = [runtime.rawMalloc(4096), runtime.rawMalloc(4096)]; // held on purpose

const before = tracer.takeSnapshot();
for (let request = 1; request <= 10_000; request++) handle(request);
const after = tracer.takeSnapshot();

console.log("[ Top differences ]");
for (const diff of after.compareTo(before, "lineno").slice(0, 3)) console.log(String(diff));

console.log("[ Where the largest one comes from ]");
const [largest] = after.compareTo(before, "traceback");
for (const line of largest!.traceback.format()) console.log(line);

const [current, peak] = tracer.getTracedMemory();
console.log(`traced: ${current} bytes now, ${peak} at the peak; ${buffers.length} buffers held`);
tracer.stop();
