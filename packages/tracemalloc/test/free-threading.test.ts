/*
 * Tracers of a free-threaded runtime across real workers: each worker traces its own calls, and a
 * block one worker traced and another frees or resizes leaves the first one's snapshots and
 * traced memory. The workers run commands one at a time (fixtures/ft-tracer-worker.ts), so each
 * test knows the order of every call; a fast-check program over three workers, blocks crossing
 * between them, is checked against a model of which tracer traces which block.
 */
import type { Worker } from "node:worker_threads";
import { LinearMemory, type MemorySource, RegionOwner } from "@tsmalloc/memory";
import { ALLOCATOR_CONFIGS, createRuntime, type Runtime } from "@tsmalloc/registry";
import { startWorker } from "@tsmalloc/testkit";
import { createTracemalloc } from "@tsmalloc/tracemalloc";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { type Block, mailbox, type ProgramOp, take } from "./fixtures/blocks.ts";
import type { TracerCommand, TracerJob, TracerLook } from "./fixtures/ft-tracer-worker.ts";

const MiB = 1 << 20;
const OBJ = 2;
const MEM = 1;
const RAW = 0;

/** A worker of ft-tracer-worker.ts, and the commands it answered. */
class TracerWorker {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #next = 1;
  slot = 0;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("message", (message: { id: number; result: unknown; error: string | null }) => {
      const waiting = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      if (message.error === null) waiting?.resolve(message.result);
      else waiting?.reject(new Error(message.error));
    });
    worker.on("error", (error) => {
      for (const waiting of this.#waiting.values()) waiting.reject(error);
    });
  }

  static async open(source: MemorySource): Promise<TracerWorker> {
    const job: TracerJob = { source };
    const opened = new TracerWorker(startWorker(new URL("./fixtures/ft-tracer-worker.ts", import.meta.url), job));
    opened.slot = (await new Promise<unknown>((resolve, reject) => opened.#waiting.set(0, { resolve, reject }))) as number;
    return opened;
  }

  call<T>(command: TracerCommand): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ id, command });
    });
  }

  start(): Promise<null> {
    return this.call({ op: "start" });
  }

  malloc(domain: number, sizes: readonly number[]): Promise<number[]> {
    return this.call({ op: "malloc", domain, sizes });
  }

  free(domain: number, addresses: readonly number[]): Promise<null> {
    return this.call({ op: "free", domain, addresses });
  }

  realloc(domain: number, address: number, size: number): Promise<number> {
    return this.call({ op: "realloc", domain, address, size });
  }

  look(addresses: readonly number[] = []): Promise<TracerLook> {
    return this.call({ op: "look", addresses });
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}

const opened: TracerWorker[] = [];

/** A free-threaded runtime in a new shared memory (this thread: slot 1) and `count` workers attached to it. */
async function setUp(count: number, allocator: string = "default"): Promise<{ memory: LinearMemory; creator: Runtime; workers: TracerWorker[] }> {
  const memory = new LinearMemory({ shared: true, maximum: 1024 * MiB });
  const creator = createRuntime({ memory, allocator: allocator as never, freeThreading: true });
  const workers = await Promise.all(Array.from({ length: count }, () => TracerWorker.open(memory.source)));
  opened.push(...workers);
  return { memory, creator, workers };
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.terminate()));
});

/** How many tracers the memory's table of shared tracers holds (word 3 of the region under "tstm"). */
function registered(memory: LinearMemory): number {
  const table = memory.getRoot("tstm");
  return table === 0 ? 0 : memory.u32[(table >>> 2) + 3]!;
}

/** Regions of the program's own owner: the table of shared tracers and the tracers' queues (heaps map others). */
function tracerRegions(memory: LinearMemory): number {
  return memory.regions().filter((r) => r.owner === RegionOwner.User).length;
}

const sum = (sizes: readonly number[]): number => sizes.reduce((a, b) => a + b, 0);

describe("tracemalloc under free-threading, across workers", () => {
  it.each([
    ["MEM", MEM],
    ["OBJ", OBJ],
    ["RAW", RAW],
  ])("drops from worker A's snapshot and traced memory the %s blocks worker B frees", async (_name, domain) => {
    const { memory, workers } = await setUp(2);
    const [a, b] = workers as [TracerWorker, TracerWorker];
    await a.start();
    await b.start();
    expect(registered(memory)).toBe(2);
    const blocks = await a.malloc(domain, [100, 200, 3000]);
    expect(await a.look(blocks)).toMatchObject({ sizes: [100, 200, 3000], memory: [3300, 3300], traced: blocks });
    await b.free(domain, blocks.slice(0, 2));
    expect(await a.look(blocks)).toMatchObject({ sizes: [3000], memory: [3000, 3300], traced: [blocks[2]], lost: 0 });
    // B never traced them: nothing of them in B's tracer
    expect(await b.look(blocks)).toMatchObject({ sizes: [], memory: [0, 0], traced: [] });
    await b.free(domain, blocks.slice(2));
    expect(await a.look(blocks)).toMatchObject({ sizes: [], memory: [0, 3300], traced: [] });
  });

  it("drops them when the creating thread's tracer frees them too, and the creator's own blocks when a worker frees them", async () => {
    const { creator, workers } = await setUp(1);
    const [a] = workers as [TracerWorker];
    const tracer = createTracemalloc(creator);
    tracer.start();
    try {
      await a.start();
      const theirs = await a.malloc(OBJ, [40, 50]);
      for (const p of theirs) creator.objFree(p);
      expect(await a.look(theirs)).toMatchObject({ sizes: [], memory: [0, 90] });
      const mine = [creator.memMalloc(70), creator.memMalloc(80)];
      expect(tracer.getTracedMemory()).toEqual([150, 150]);
      await a.free(MEM, mine);
      expect(tracer.getTracedMemory()).toEqual([0, 150]);
      expect(tracer.takeSnapshot().traces).toEqual([]);
      expect(mine.map((p) => tracer.getObjectTraceback(p))).toEqual([null, null]);
    } finally {
      tracer.stop();
    }
  });

  it("traces a new block at the same address after another worker freed the old one (ABA): drop first, then record", async () => {
    const { workers } = await setUp(2);
    const [a, b] = workers as [TracerWorker, TracerWorker];
    await a.start();
    await b.start();
    const [x] = (await a.malloc(OBJ, [20])) as [number];
    await b.free(OBJ, [x]);
    // A's heap takes back what B freed into it, and hands the same block out again (same size class)
    expect(await a.call<number>({ op: "reclaim" })).toBeGreaterThan(0);
    const [again] = (await a.malloc(OBJ, [24])) as [number];
    expect(again).toBe(x);
    expect(await a.look([x])).toMatchObject({ sizes: [24], memory: [24, 24], traced: [x] });
    // and that trace stays until the new block is freed
    expect(await a.look([x])).toMatchObject({ sizes: [24], memory: [24, 24] });
    await b.free(OBJ, [x]);
    expect(await a.look([x])).toMatchObject({ sizes: [], memory: [0, 24] });
  });

  it("moves the trace of a block another worker resizes: out of the owner's tracer, into the resizer's", async () => {
    const { workers } = await setUp(2);
    const [a, b] = workers as [TracerWorker, TracerWorker];
    await a.start();
    await b.start();
    // moved: a new block in B's heap
    const [x] = (await a.malloc(MEM, [100])) as [number];
    const y = await b.realloc(MEM, x, 5000);
    expect(y).not.toBe(x);
    expect(await a.look([x, y])).toMatchObject({ sizes: [], memory: [0, 100], traced: [] });
    expect(await b.look([x, y])).toMatchObject({ sizes: [5000], memory: [5000, 5000], traced: [y] });
    // in place: a pymalloc block that stays in its size class stays in A's heap
    const [z] = (await a.malloc(OBJ, [20])) as [number];
    expect(await b.realloc(OBJ, z, 30)).toBe(z);
    expect(await a.look([z])).toMatchObject({ sizes: [], memory: [0, 100], traced: [] });
    expect(await b.look([z])).toMatchObject({ sizes: [30, 5000], memory: [5030, 5030], traced: [z] });
    // B now owns the trace: A freeing the block takes it out of B's tracer
    await a.free(OBJ, [z]);
    await a.free(MEM, [y]);
    expect(await b.look([y, z])).toMatchObject({ sizes: [], memory: [0, 5030], traced: [] });
  });

  it("lets a worker free a block whose old trace it still holds unread: it reads its queue first, so the current tracer drops it", async () => {
    const { workers } = await setUp(2);
    const [a, b] = workers as [TracerWorker, TracerWorker];
    await a.start();
    await b.start();
    const [w] = (await b.malloc(OBJ, [20])) as [number];
    // A resizes B's block in place: the trace is A's now; B's old one waits in B's queue
    expect(await a.realloc(OBJ, w, 30)).toBe(w);
    // B frees it: B must not take its stale trace for its own, or A would keep the block forever
    await b.free(OBJ, [w]);
    expect(await a.look([w])).toMatchObject({ sizes: [], memory: [0, 30], traced: [] });
    expect(await b.look([w])).toMatchObject({ sizes: [], memory: [0, 20], traced: [] });
  });

  it("grows a tracer's queue past its first region while that tracer is idle, and loses nothing", async () => {
    const { workers } = await setUp(2);
    const [a, b] = workers as [TracerWorker, TracerWorker];
    await a.start();
    await b.start();
    const count = 20_000; // more than the 16,384 addresses of a queue's first 64 KiB
    const blocks = await a.malloc(OBJ, Array.from({ length: count }, (_, i) => 8 + (i % 64)));
    const total = sum(blocks.map((_, i) => 8 + (i % 64)));
    const before = await a.look();
    expect(before.memory).toEqual([total, total]);
    await b.free(OBJ, blocks);
    const after = await a.look(blocks.slice(0, 100));
    expect(after).toMatchObject({ sizes: [], memory: [0, total], traced: [], lost: 0 });
    // the queue doubled once: 32,768 addresses of 4 bytes are the tracer's now
    expect(after.tracemallocMemory - before.tracemallocMemory).toBeGreaterThanOrEqual(32_768 * 4);
  });

  it("unregisters a tracer that stops or whose worker closes the runtime, dropping what was queued for it", async () => {
    const { memory, creator, workers } = await setUp(3);
    const [a, b, c] = workers as [TracerWorker, TracerWorker, TracerWorker];
    expect(tracerRegions(memory)).toBe(0);
    await a.start();
    await b.start();
    await c.start();
    expect(registered(memory)).toBe(3);
    expect(tracerRegions(memory)).toBe(1); // the table
    const blocks = await a.malloc(OBJ, [32, 32]);
    await b.free(OBJ, [blocks[0]!]); // queued for A and C: each maps its queue
    expect(tracerRegions(memory)).toBe(3);
    await a.call({ op: "stop" });
    expect(registered(memory)).toBe(2);
    expect(tracerRegions(memory)).toBe(2);
    expect(await a.look()).toMatchObject({ tracing: false, sizes: [], memory: [0, 0] });
    // close() stops the worker's tracer and unregisters it
    await c.call({ op: "close" });
    expect(registered(memory)).toBe(1);
    expect(tracerRegions(memory)).toBe(1);
    expect(await c.look()).toMatchObject({ tracing: false });
    // a tracer started again registers again; the block B frees now reaches nobody but A
    await a.start();
    expect(registered(memory)).toBe(2);
    const [mine] = (await a.malloc(OBJ, [48])) as [number];
    await b.free(OBJ, [mine, blocks[1]!]);
    expect(await a.look([mine])).toMatchObject({ sizes: [], memory: [0, 48] });
    await a.call({ op: "stop" });
    await b.call({ op: "stop" });
    expect(registered(memory)).toBe(0);
    expect(tracerRegions(memory)).toBe(1);
    expect(creator.check().ok).toBe(true);
  });

  it("removes the entry of a worker that ended without stopping its tracer, once its slot is declared abandoned", async () => {
    const { memory, creator, workers } = await setUp(2);
    const [a, b] = workers as [TracerWorker, TracerWorker];
    await a.start();
    await b.start();
    const [x] = (await a.malloc(OBJ, [16])) as [number];
    await b.free(OBJ, [x]); // queued for A, whose queue is mapped now
    expect(tracerRegions(memory)).toBe(2);
    await a.terminate();
    expect(registered(memory)).toBe(2);
    creator.abandonThread(a.slot);
    // the next announcement finds A's slot let go, and removes A's entry with its queue
    await b.free(OBJ, [creator.objMalloc(16)]);
    expect(registered(memory)).toBe(1);
    expect(tracerRegions(memory)).toBe(1);
    await b.call({ op: "stop" });
    expect(registered(memory)).toBe(0);
  });

  it("keeps a runtime that is not free-threaded as it was: no shared table, even over a shared memory", () => {
    const memory = new LinearMemory({ shared: true, maximum: 64 * MiB });
    const runtime = createRuntime({ memory });
    const tracer = createTracemalloc(runtime);
    tracer.start();
    const p = runtime.memMalloc(10);
    runtime.memFree(p);
    expect(tracer.getRemoteFreesLost()).toBe(0);
    tracer.stop();
    expect(memory.getRoot("tstm")).toBe(0);
  });

  type Op =
    | { readonly op: "malloc"; readonly worker: number; readonly domain: number; readonly size: number }
    | { readonly op: "free"; readonly worker: number; readonly pick: number }
    | { readonly op: "realloc"; readonly worker: number; readonly pick: number; readonly size: number }
    | { readonly op: "look"; readonly worker: number };

  const WORKERS = 3;
  const worker = fc.integer({ min: 0, max: WORKERS - 1 });
  const size = fc.oneof({ weight: 85, arbitrary: fc.integer({ min: 0, max: 600 }) }, { weight: 15, arbitrary: fc.integer({ min: 601, max: 9000 }) });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 35, arbitrary: fc.record({ op: fc.constant("malloc" as const), worker, domain: fc.integer({ min: 0, max: 2 }), size }) },
    { weight: 30, arbitrary: fc.record({ op: fc.constant("free" as const), worker, pick: fc.nat() }) },
    { weight: 20, arbitrary: fc.record({ op: fc.constant("realloc" as const), worker, pick: fc.nat(), size }) },
    { weight: 15, arbitrary: fc.record({ op: fc.constant("look" as const), worker }) },
  );

  it("keeps every worker's snapshot equal to a model of which tracer traces which block, in every configuration (fast-check, 3 workers)", { timeout: 240_000 }, async () => {
    const { workers } = await setUp(WORKERS);
    let crossed = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALLOCATOR_CONFIGS), fc.array(op, { minLength: 20, maxLength: 120 }), async (config, ops) => {
        const memory = new LinearMemory({ shared: true, maximum: 1024 * MiB });
        const creator = createRuntime({ memory, allocator: config, freeThreading: true });
        for (const w of workers) await w.call({ op: "attach", source: memory.source });
        for (const w of workers) await w.start();
        /** Live blocks, and the worker whose tracer traces each. */
        const live: { address: number; domain: number; size: number; tracer: number }[] = [];
        const peaks = Array.from({ length: WORKERS }, () => 0);
        const current = (w: number): number => sum(live.filter((b) => b.tracer === w).map((b) => b.size));
        const check = async (w: number): Promise<void> => {
          const seen = await workers[w]!.look(live.map((b) => b.address));
          const mine = live.filter((b) => b.tracer === w);
          expect(seen.sizes, `${config}: worker ${w}'s snapshot`).toEqual(mine.map((b) => b.size).sort((x, y) => x - y));
          expect(seen.memory, `${config}: worker ${w}'s traced memory`).toEqual([current(w), peaks[w]]);
          expect(seen.traced.sort((x, y) => x - y)).toEqual(mine.map((b) => b.address).sort((x, y) => x - y));
          expect(seen.lost).toBe(0);
        };
        for (const step of ops) {
          const w = workers[step.worker]!;
          if (step.op === "malloc") {
            const [p] = (await w.malloc(step.domain, [step.size])) as [number];
            expect(p).not.toBe(0);
            live.push({ address: p, domain: step.domain, size: step.size, tracer: step.worker });
          } else if (step.op === "look" || live.length === 0) {
            await check(step.worker);
            continue;
          } else {
            const at = step.pick % live.length;
            const block = live[at]!;
            if (block.tracer !== step.worker) crossed++;
            live.splice(at, 1);
            if (step.op === "free") await w.free(block.domain, [block.address]);
            else {
              const q = await w.realloc(block.domain, block.address, step.size);
              expect(q).not.toBe(0);
              live.push({ address: q, domain: block.domain, size: step.size, tracer: step.worker });
            }
          }
          // a tracer's traced memory only grows through its own calls, which take in what others freed first
          peaks[step.worker] = Math.max(peaks[step.worker]!, current(step.worker));
        }
        for (let i = 0; i < WORKERS; i++) await check(i);
        // every block left is freed by the next worker over: all of them cross
        for (const block of live) await workers[(block.tracer + 1) % WORKERS]!.free(block.domain, [block.address]);
        for (let i = 0; i < WORKERS; i++) {
          const seen = await workers[i]!.look();
          expect(seen.sizes).toEqual([]);
          expect(seen.memory[0]).toBe(0);
        }
        for (const w of workers) await w.call({ op: "stop" });
        expect(registered(memory)).toBe(0);
        expect(creator.check().ok).toBe(true);
      }),
      { numRuns: 6, endOnFailure: true },
    );
    expect(crossed).toBeGreaterThan(0);
  });

  const programOp: fc.Arbitrary<ProgramOp> = fc.oneof(
    { weight: 34, arbitrary: fc.record({ op: fc.constant("malloc" as const), domain: fc.integer({ min: 0, max: 2 }), size }) },
    { weight: 12, arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }) },
    { weight: 10, arbitrary: fc.record({ op: fc.constant("realloc" as const), pick: fc.nat(), size }) },
    { weight: 20, arbitrary: fc.record({ op: fc.constant("post" as const), pick: fc.nat() }) },
    { weight: 24, arbitrary: fc.record({ op: fc.constant("take" as const), after: fc.constantFrom("free" as const, "realloc" as const, "keep" as const), size }) },
  );

  it("keeps every worker's snapshot right when 3 workers run at once, handing blocks to each other (fast-check, every configuration)", { timeout: 240_000 }, async () => {
    const { workers } = await setUp(WORKERS);
    let handed = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALLOCATOR_CONFIGS), fc.array(fc.array(programOp, { minLength: 300, maxLength: 1500 }), { minLength: WORKERS, maxLength: WORKERS }), async (config, programs) => {
        const memory = new LinearMemory({ shared: true, maximum: 1024 * MiB });
        createRuntime({ memory, allocator: config, freeThreading: true });
        for (const w of workers) await w.call({ op: "attach", source: memory.source });
        for (const w of workers) await w.start();
        const box = mailbox(64);
        const gate = new Int32Array(new SharedArrayBuffer(4));
        const held = await Promise.all(workers.map((w, me) => w.call<Block[]>({ op: "program", me, workers: WORKERS, ops: programs[me]!, box, gate })));
        // what is live: what each worker holds, and what nobody took from the mailbox
        const live = held.flat();
        for (let block = take(box, 0); block !== null; block = take(box, 0)) live.push(block);
        handed += held.reduce((n, blocks, me) => n + blocks.filter((b) => b.tracer !== me).length, 0);
        for (let i = 0; i < WORKERS; i++) {
          const mine = live.filter((b) => b.tracer === i);
          const seen = await workers[i]!.look(live.map((b) => b.address));
          expect(seen.sizes, `${config}: worker ${i}'s snapshot`).toEqual(mine.map((b) => b.size).sort((x, y) => x - y));
          expect(seen.memory[0]).toBe(sum(mine.map((b) => b.size)));
          expect(seen.traced.sort((x, y) => x - y)).toEqual(mine.map((b) => b.address).sort((x, y) => x - y));
          expect(seen.lost).toBe(0);
        }
        for (const block of live) await workers[(block.tracer + 1) % WORKERS]!.free(block.domain, [block.address]);
        for (const w of workers) expect((await w.look()).sizes).toEqual([]);
        for (const w of workers) await w.call({ op: "stop" });
        expect(registered(memory)).toBe(0);
      }),
      { numRuns: 5, endOnFailure: true },
    );
    // workers kept blocks that others traced
    expect(handed).toBeGreaterThan(0);
  });
});
