import { setTimeout as sleep } from "node:timers/promises";
import { lockMutex, tryLockMutex, unlockMutex } from "@tsmalloc/memory";
import { firstMessage, startWorker } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { COUNTER, type CounterJob, type CounterReply, INSIDE, LOCK } from "./fixtures/protocol.ts";
import { wasmMemory } from "./support.ts";

function words(n = 4): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

describe("mutex state transitions", () => {
  it("lockMutex takes a free mutex (0 -> 1) and unlockMutex frees it (1 -> 0)", () => {
    const w = words();
    lockMutex(w, 1);
    expect([...w]).toEqual([0, 1, 0, 0]);
    unlockMutex(w, 1);
    expect([...w]).toEqual([0, 0, 0, 0]);
  });

  it("tryLockMutex takes a free mutex and fails on a held one, changing nothing", () => {
    const w = words();
    expect(tryLockMutex(w, 2)).toBe(true);
    expect(w[2]).toBe(1);
    expect(tryLockMutex(w, 2)).toBe(false);
    expect(w[2]).toBe(1);
    Atomics.store(w, 2, 2);
    expect(tryLockMutex(w, 2)).toBe(false);
    expect(w[2]).toBe(2);
    expect([w[0], w[1], w[3]]).toEqual([0, 0, 0]);
  });

  it("unlockMutex frees a contended mutex (2 -> 0)", () => {
    const w = words();
    Atomics.store(w, 0, 2);
    unlockMutex(w, 0);
    expect(w[0]).toBe(0);
    expect(tryLockMutex(w, 0)).toBe(true);
  });

  it("can be taken again after every release", () => {
    const w = words(1);
    for (let i = 0; i < 1000; i++) {
      lockMutex(w, 0);
      expect(tryLockMutex(w, 0)).toBe(false);
      unlockMutex(w, 0);
    }
    expect(w[0]).toBe(0);
  });

  it("works on a mutex inside a shared WebAssembly.Memory's words", () => {
    const memory = new Int32Array(wasmMemory(1, 1, true).buffer);
    lockMutex(memory, 100);
    expect(Atomics.load(memory, 100)).toBe(1);
    unlockMutex(memory, 100);
    expect(Atomics.load(memory, 100)).toBe(0);
  });
});

describe("mutex across workers", () => {
  it("wakes a sleeping waiter on unlock and hands it the data written under the lock", async () => {
    const w = words(2);
    expect(tryLockMutex(w, 0)).toBe(true);
    const worker = startWorker(new URL("./fixtures/lock-waiter.ts", import.meta.url), w);
    try {
      const reply = firstMessage<number>(worker);
      // the waiter marks the mutex contended (2) before it sleeps
      while (Atomics.load(w, 0) !== 2) await sleep(1);
      w[1] = 41;
      unlockMutex(w, 0);
      expect(await reply).toBe(41);
      expect(Atomics.load(w, 1)).toBe(42);
      expect(Atomics.load(w, 0)).toBe(0);
    } finally {
      await worker.terminate();
    }
  });

  it("keeps 4 workers from losing any of 80,000 plain increments", async () => {
    const job: CounterJob = { words: words(4), iterations: 20_000, workers: 4 };
    const workers = Array.from({ length: job.workers }, () => startWorker(new URL("./fixtures/lock-counter.ts", import.meta.url), job));
    try {
      const replies = await Promise.all(workers.map((worker) => firstMessage<CounterReply>(worker)));
      expect(replies).toEqual(Array.from({ length: job.workers }, () => ({ violations: 0 })));
      expect(job.words[COUNTER]).toBe(job.workers * job.iterations);
      expect(job.words[LOCK]).toBe(0);
      expect(job.words[INSIDE]).toBe(0);
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  });
});
