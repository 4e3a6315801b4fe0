/*
 * One worker of a run of threads-bench.ts: it opens the registry runtime of its column (a private
 * one, or the main thread's over the shared memory), compiles its loop on a tenth of the work,
 * waits at the gate with the others, then does its share of the timed work and reports when it
 * started and ended on the clock the workers share.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runChurn } from "./churn.ts";
import { median } from "./median.ts";
import { PIPELINE_BATCH, pipelineWarmBlocks } from "./pipeline-warm-up.ts";
import type { ThreadBenchJob, ThreadBenchReply } from "./threads-bench.ts";

interface Runtime {
  memMalloc(size: number): number;
  memCalloc(nelem: number, elsize: number): number;
  memRealloc(p: number, size: number): number;
  memFree(p: number): void;
  close(): void;
}

interface RegistryModule {
  createRuntime(options: object): Runtime;
  attachRuntime(memory: unknown): Runtime;
}

interface MemoryModule {
  LinearMemory: { attach(source: unknown): unknown };
}

/** The clock every worker reads alike, in milliseconds. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Waits until the main thread opens the gate (after every worker said it is ready). */
function arrive(gate: Int32Array): void {
  Atomics.add(gate, 0, 1);
  while (Atomics.load(gate, 1) === 0) Atomics.wait(gate, 1, 0, 100);
}

/**
 * Words of the pipeline's exchange array. Each counter and flag has a 64-byte cache line of its
 * own: the producer writes PRODUCED and the consumer CONSUMED, and on one line every store of
 * either would take the line from the other core (false sharing, paid on every hand-off).
 */
const PRODUCED = 0;
const CONSUMED = 16;
const CONSUMER_ASLEEP = 32;
const PRODUCER_ASLEEP = 48;
const RING = 64;
/**
 * Blocks per hand-off: each side publishes its counter (an Atomics.store, and a look at the other
 * side's sleep flag) once per batch, and reads the other's only when it has used up what it saw
 * last. Per block, then, the hand-off is one plain store and one plain load of the ring, and what
 * the benchmark measures is the allocator (a malloc here, a remote free there), not the mailbox.
 * The ring's size is a multiple of it.
 */
const BATCH = PIPELINE_BATCH;
/** Loads of a counter before a waiting side goes to sleep. */
const SPINS = 2000;

/**
 * Waits while `busy(counter)` holds for the counter at `word`: spins first, then sleeps in
 * Atomics.wait with its `asleep` flag raised (the other side notifies only a sleeper).
 */
function waitWhile(ring: Int32Array, word: number, asleep: number, busy: (counter: number) => boolean): void {
  for (let spin = 0; spin < SPINS; spin++) if (!busy(Atomics.load(ring, word))) return;
  Atomics.store(ring, asleep, 1);
  for (let seen = Atomics.load(ring, word); busy(seen); seen = Atomics.load(ring, word)) Atomics.wait(ring, word, seen, 1);
  Atomics.store(ring, asleep, 0);
}

/** The sizes of the pipeline's and the remote free's blocks: a fixed spread over [min, max]. */
function sizeOf(i: number, min: number, max: number): number {
  return min + ((i * 2654435761) >>> 0) % (max - min + 1);
}

async function main(): Promise<ThreadBenchReply> {
  const job = workerData as ThreadBenchJob;
  const registry = (await import(job.modules.registry)) as RegistryModule;
  const { LinearMemory } = (await import(job.modules.memory)) as MemoryModule;
  const rt = job.mode === "private" ? registry.createRuntime({ allocator: job.config }) : registry.attachRuntime(LinearMemory.attach(job.source));
  // the MEM domain's entry points, as `runtime.memMalloc` and friends are called in a program
  const target = {
    malloc: (size: number): number => rt.memMalloc(size),
    calloc: (nelem: number, elsize: number): number => rt.memCalloc(nelem, elsize),
    realloc: (p: number, size: number): number => rt.memRealloc(p, size),
    free: (p: number): void => rt.memFree(p),
  };
  const { shape } = job;
  try {
    if (shape.kind === "churn") {
      const { churn } = shape;
      const slots = new Float64Array(churn.live);
      runChurn(churn, target, slots, Math.floor(churn.pairs / 10));
      arrive(job.gate);
      const start = now();
      const failures = runChurn(churn, target, slots, churn.pairs);
      return { ok: true, start, end: now(), failures };
    }
    const ring = job.exchange;
    if (shape.kind === "pipeline") {
      // PRODUCED and CONSUMED: blocks handed over and taken, published once per BATCH; the
      // consumer's and the producer's sleep flags; from RING, a ring of addresses. Each side spins a
      // while before it sleeps, and is woken only when it sleeps, so that the ring costs little next
      // to the allocator.
      //
      //   | local warm-up | gate | blocks 0 .. warm-1 (untimed) | blocks warm .. warm+blocks-1 (timed) |
      //
      // The first `warm` blocks go through the ring untimed: they compile the remote free, the
      // owner's drain of its remote-free list and the hand-over, and fill the heaps' pools with
      // blocks that come back through that list, as they are in the rest of the run. Each side
      // starts its clock when it reaches block `warm`.
      const size = ring.length - RING;
      for (let i = 0; i < Math.min(10_000, shape.blocks); i++) target.free(target.malloc(sizeOf(i, shape.minSize, shape.maxSize)));
      const warm = pipelineWarmBlocks(shape.blocks);
      const last = warm + shape.blocks;
      arrive(job.gate);
      let start = now();
      let failures = 0;
      // each side also times its own work batch by batch, its waits left out: the median batch is
      // what a block costs it when it is not descheduled (on a loaded machine the wall time is
      // mostly the two workers waiting for a core)
      const busy = new Float64Array(Math.ceil(shape.blocks / BATCH));
      let batchStart = performance.now();
      let waited = 0;
      const endBatch = (i: number): void => {
        const t = performance.now();
        if (i >= warm) busy[Math.floor((i - warm) / BATCH)] = (t - batchStart - waited) / (i - warm - Math.floor((i - warm) / BATCH) * BATCH + 1);
        waited = 0;
        batchStart = t;
      };
      const startClock = (): void => {
        start = now();
        batchStart = performance.now();
        waited = 0;
      };
      if (job.index === 0) {
        let consumed = 0; // what the producer saw of CONSUMED last
        for (let i = 0; i < last; i++) {
          if (i === warm) startClock();
          if (i - consumed >= size) {
            consumed = Atomics.load(ring, CONSUMED);
            if (i - consumed >= size) {
              const t = performance.now();
              waitWhile(ring, CONSUMED, PRODUCER_ASLEEP, (seen) => i - seen >= size);
              waited += performance.now() - t;
              consumed = Atomics.load(ring, CONSUMED);
            }
          }
          const p = target.malloc(sizeOf(i, shape.minSize, shape.maxSize));
          if (p === 0) failures++;
          ring[RING + (i % size)] = p | 0;
          if ((i + 1) % BATCH === 0 || i + 1 === last) {
            Atomics.store(ring, PRODUCED, i + 1);
            if (Atomics.load(ring, CONSUMER_ASLEEP) !== 0) Atomics.notify(ring, PRODUCED);
            endBatch(i);
          }
        }
      } else {
        let produced = 0; // what the consumer saw of PRODUCED last
        for (let i = 0; i < last; i++) {
          if (i === warm) startClock();
          if (produced <= i) {
            produced = Atomics.load(ring, PRODUCED);
            if (produced <= i) {
              const t = performance.now();
              waitWhile(ring, PRODUCED, CONSUMER_ASLEEP, (seen) => seen <= i);
              waited += performance.now() - t;
              produced = Atomics.load(ring, PRODUCED);
            }
          }
          const p = ring[RING + (i % size)]! >>> 0;
          if (p !== 0) target.free(p);
          if ((i + 1) % BATCH === 0 || i + 1 === last) {
            Atomics.store(ring, CONSUMED, i + 1);
            if (Atomics.load(ring, PRODUCER_ASLEEP) !== 0) Atomics.notify(ring, CONSUMED);
            endBatch(i);
          }
        }
      }
      return { ok: true, start, end: now(), failures, busyNs: (median([...busy]) ?? 0) * 1e6 };
    }
    // remote free, in rounds: worker 0 makes n blocks and hands them over (word 0: rounds handed
    // over; word 1: rounds done; from word 2, the blocks); worker 1 makes n of its own, then frees
    // its own and then worker 0's, each timed (the order alternates, so that neither set is always
    // the one freed first). Round 0 compiles the code and is not counted. The rounds keep the
    // blocks few enough to stay in the caches, as in a program that frees what it just received;
    // each side's figure is the median over the rounds, so that a round in which the worker was
    // descheduled (a loaded machine) does not count.
    const n = shape.blocks;
    const rounds = shape.rounds;
    let failures = 0;
    arrive(job.gate);
    const start = now();
    if (job.index === 0) {
      for (let round = 0; round < rounds; round++) {
        while (Atomics.load(ring, 1) < round) Atomics.wait(ring, 1, Atomics.load(ring, 1), 1);
        for (let i = 0; i < n; i++) {
          const p = target.malloc(sizeOf(i + round, shape.minSize, shape.maxSize));
          if (p === 0) failures++;
          ring[2 + i] = p | 0;
        }
        Atomics.store(ring, 0, round + 1);
        Atomics.notify(ring, 0);
      }
      return { ok: true, start, end: now(), failures };
    }
    const mine = new Float64Array(n);
    const localMs = new Float64Array(rounds - 1);
    const remoteMs = new Float64Array(rounds - 1);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < n; i++) {
        const p = target.malloc(sizeOf(i + round + 1, shape.minSize, shape.maxSize));
        if (p === 0) failures++;
        mine[i] = p;
      }
      while (Atomics.load(ring, 0) <= round) Atomics.wait(ring, 0, round, 1);
      // durations on performance.now() itself: the shared clock's large origin would cost precision
      let local: number;
      let remote: number;
      if (round % 2 === 0) {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) target.free(mine[i]!);
        const t1 = performance.now();
        for (let i = 0; i < n; i++) target.free(ring[2 + i]! >>> 0);
        local = t1 - t0;
        remote = performance.now() - t1;
      } else {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) target.free(ring[2 + i]! >>> 0);
        const t1 = performance.now();
        for (let i = 0; i < n; i++) target.free(mine[i]!);
        remote = t1 - t0;
        local = performance.now() - t1;
      }
      if (round > 0) {
        localMs[round - 1] = local;
        remoteMs[round - 1] = remote;
      }
      Atomics.store(ring, 1, round + 1);
      Atomics.notify(ring, 1);
    }
    return { ok: true, start, end: now(), failures, localMs: median([...localMs]) ?? 0, remoteMs: median([...remoteMs]) ?? 0 };
  } finally {
    rt.close();
  }
}

main().then(
  (reply) => parentPort!.postMessage(reply),
  (error: unknown) => parentPort!.postMessage({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
);
