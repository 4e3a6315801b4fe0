// Free-threading: every worker traces its own calls, and a block that one thread traced and
// another frees or resizes leaves the first one's snapshot.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { LinearMemory } from "@tsmalloc/memory";
import { attachRuntime, createRuntime } from "@tsmalloc/registry";
import { createTracemalloc } from "@tsmalloc/tracemalloc";

if (isMainThread) {
  const memory = new LinearMemory({ shared: true });
  const runtime = createRuntime({ memory, freeThreading: true });
  const tracer = createTracemalloc(runtime);
  tracer.start();
  const jobs = Array.from({ length: 100 }, () => runtime.objMalloc(64)); // traced by this thread
  console.log(`main thread: ${tracer.takeSnapshot().traces.length} blocks traced`);

  const worker = new Worker(new URL(import.meta.url), { workerData: { source: memory.source, jobs } });
  const seen = await new Promise<string>((resolve) => worker.once("message", resolve));
  console.log(`worker: ${seen}`);

  const [current, peak] = tracer.getTracedMemory();
  console.log(`main thread: ${tracer.takeSnapshot().traces.length} blocks traced, ${current} bytes now, ${peak} at the peak`);
} else {
  const runtime = attachRuntime(LinearMemory.attach(workerData.source)); // a heap slot of its own
  const tracer = createTracemalloc(runtime);
  tracer.start(); // trace here too: a worker that does not trace tells nobody what it frees
  const jobs = workerData.jobs as number[];
  for (const job of jobs.slice(0, 50)) runtime.objFree(job); // the main thread's tracer drops them
  for (const job of jobs.slice(50, 80)) runtime.objRealloc(job, 200); // their traces move here
  const [current] = tracer.getTracedMemory();
  parentPort!.postMessage(`${tracer.takeSnapshot().traces.length} blocks traced, ${current} bytes`);
  runtime.close(); // stops this worker's tracer too
}
