// One heap, several workers: the memory is a SharedArrayBuffer and every call takes the heap's
// lock. After `pnpm build`, run it with `node examples/shared.mjs` in this package.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";

if (isMainThread) {
  const memory = new LinearMemory({ shared: true });
  const heap = new Malloc(memory); // recorded in the memory's header, so workers find it
  const workers = [1, 2, 3].map(
    (id) => new Worker(new URL(import.meta.url), { workerData: { source: memory.source, id }, execArgv: process.execArgv }),
  );
  const blocks = await Promise.all(workers.map((w) => new Promise((resolve) => w.once("message", resolve))));
  for (const [i, p] of blocks.entries()) console.log(`worker ${i + 1} left block 0x${p.toString(16)}: ${memory.u8[p]}`);
  for (const p of blocks) heap.free(p);
  console.log(heap.check().ok, heap.stats().allocatedBlocks);
  for (const w of workers) await w.terminate();
} else {
  const { source, id } = workerData;
  const heap = Malloc.attach(LinearMemory.attach(source));
  for (let i = 0; i < 10_000; i++) heap.free(heap.malloc(16 + ((i * 7) % 1000)));
  const p = heap.malloc(64);
  heap.memory.u8.fill(id, p, p + 64);
  parentPort.postMessage(p);
}
