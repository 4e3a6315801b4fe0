// Free-threading, as in CPython's free-threaded build: every thread gets heaps of its own in one
// shared memory, and any thread may free any thread's block.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { LinearMemory } from "@tsmalloc/memory";
import { attachRuntime, createRuntime } from "@tsmalloc/registry";

if (isMainThread) {
  const memory = new LinearMemory({ shared: true });
  const runtime = createRuntime({ memory, freeThreading: true }); // this thread: heap slot 1
  const workers = [1, 2].map((id) => new Worker(new URL(import.meta.url), { workerData: { source: memory.source, id } }));
  const replies = await Promise.all(workers.map((w) => new Promise<{ slot: number; blocks: number[] }>((resolve) => w.once("message", resolve))));
  console.log(`the workers had heap slots ${replies.map((r) => r.slot).sort().join(" and ")}`);
  for (const { blocks } of replies) {
    for (const p of blocks) runtime.objFree(p); // another thread's block: one compare-and-swap
  }
  console.log(`${runtime.reclaim()} blocks freed into the heaps the workers left`);
  console.log(runtime.check().ok);
} else {
  const runtime = attachRuntime(LinearMemory.attach(workerData.source)); // a heap slot of its own
  const blocks: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    const p = runtime.objMalloc(16 + (i % 500)); // its own heap: no lock, no atomic operation
    if (i % 1000 === 0) blocks.push(p);
    else runtime.objFree(p);
  }
  const slot = runtime.threadSlot;
  runtime.close(); // its heaps, with the blocks still live in them, wait for the next thread
  parentPort!.postMessage({ slot, blocks });
}
