/*
 * Pymalloc.attach: a second handle on a heap in the same thread, the root-table registration, a
 * heap reopened from a copy of its memory, and four workers sharing one heap on a shared memory.
 */
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory } from "@tsmalloc/memory";
import { inspectArenas, Pymalloc } from "@tsmalloc/pymalloc";
import { findMismatch, runWorkers } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import type { WorkerJob, WorkerReport } from "./fixtures/shared-worker.ts";
import { expectError, expectFilled, expectHeapOk, fill, makeHeap, snapshot } from "./helpers.ts";
import { STATE_POINTER_SIZE_WORD } from "../src/structs.ts";

const ROOT_TAG = "pyml";
const MiB = 1 << 20;

describe("Pymalloc.attach in the same thread", () => {
  it("sees the same heap: blocks, stats, and frees through either handle", () => {
    const { memory, raw, obj } = makeHeap();
    const small = [obj.malloc(24), obj.malloc(64), obj.malloc(512), obj.calloc(10, 10)];
    const large = obj.malloc(5000);
    const zero = obj.malloc(0);
    small.forEach((p, i) => fill(memory, p, 24, 0x31 + i));
    const attached = Pymalloc.attach(Malloc.attach(memory));
    expect(attached).not.toBe(obj);
    expect(attached.address).toBe(obj.address);
    expect(attached.layout).toEqual(obj.layout);
    expect(attached.memory).toBe(memory);
    expect(attached.stats()).toEqual(obj.stats());
    expect(attached.formatStats()).toBe(obj.formatStats());
    expect(attached.allocatedBlocks()).toBe(6);
    for (const p of [...small, large, zero]) {
      expect(attached.owns(p)).toBe(obj.owns(p));
      expect(attached.usableSize(p)).toBe(obj.usableSize(p));
    }
    // both handles work on the one heap
    attached.free(small[1]!);
    expectError(() => obj.free(small[1]!), ErrorCode.DoubleFree, small[1]);
    expect(obj.malloc(60)).toBe(small[1]); // the block attached freed is the next of its class
    obj.free(small[1]!);
    attached.free(large);
    expectError(() => obj.free(large), ErrorCode.DoubleFree);
    const moved = attached.realloc(small[0]!, 100);
    expectFilled(memory, moved, 24, 0x31);
    obj.free(moved);
    obj.free(small[2]!);
    attached.free(small[3]!);
    attached.free(zero);
    expect(obj.allocatedBlocks()).toBe(0);
    expect(attached.stats()).toEqual(obj.stats());
    expect(obj.stats().rawAllocatedBlocks).toBe(0);
    expectHeapOk(obj);
    expectHeapOk(attached);
    expectHeapOk(raw);
  });

  it("takes the layout from the heap and the options it is given", () => {
    const memory = new LinearMemory();
    const obj = new Pymalloc(new Malloc(memory), { layout: "align8" });
    const p = obj.malloc(8);
    const attached = Pymalloc.attach(Malloc.attach(memory), undefined, { checks: false });
    expect(attached.layout).toEqual(obj.layout);
    expect(attached.layout.alignment).toBe(8);
    expect(attached.usableSize(p)).toBe(8);
    const q = attached.malloc(8);
    expect(q - p).toBe(8);
    // checks: false on the attached handle only
    attached.free(q);
    expect(() => attached.free(q)).not.toThrow();
    const r = obj.malloc(100);
    expectError(() => obj.free(r + 8), ErrorCode.InvalidPointer);
  });

  it("opens a wasm32 heap as one: the pointer size comes from the heap, and the 32-byte pool headers with it", () => {
    const memory = new LinearMemory();
    const obj = new Pymalloc(new Malloc(memory), { layout: "wasm32" });
    const p = obj.malloc(20);
    const attached = Pymalloc.attach(Malloc.attach(memory));
    expect(attached.layout).toEqual(obj.layout);
    expect(attached.layout.pointerSize).toBe(4);
    const q = attached.malloc(20);
    expect(q - p).toBe(24);
    expect((p - 32) % 4096).toBe(0);
    attached.free(p);
    obj.free(q);
    expect(obj.allocatedBlocks()).toBe(0);
    expectHeapOk(attached);
  });

  it("reads a heap that recorded no pointer size (made before it was recorded) as a 64-bit one", () => {
    const memory = new LinearMemory();
    const obj = new Pymalloc(new Malloc(memory), { layout: "python38" });
    memory.u32[(obj.address >>> 2) + STATE_POINTER_SIZE_WORD] = 0;
    expect(Pymalloc.attach(Malloc.attach(memory)).layout).toEqual(obj.layout);
  });
});

describe("registration in the root table", () => {
  it("records the first heap under pyml, not the second unless asked, and attach finds the recorded one", () => {
    const memory = new LinearMemory();
    const raw = new Malloc(memory);
    const first = new Pymalloc(raw);
    expect(memory.getRoot(ROOT_TAG)).toBe(first.address);
    const second = new Pymalloc(raw);
    expect(second.address).not.toBe(first.address);
    expect(memory.getRoot(ROOT_TAG)).toBe(first.address);
    expect(Pymalloc.attach(raw).address).toBe(first.address);
    const bySecond = Pymalloc.attach(raw, second.address);
    expect(bySecond.address).toBe(second.address);
    const p = second.malloc(64);
    expect(bySecond.owns(p)).toBe(true);
    expect(first.owns(p)).toBe(false);
    bySecond.free(p);
    // attach does not record what it opens, unless asked
    expect(memory.getRoot(ROOT_TAG)).toBe(first.address);
    Pymalloc.attach(raw, second.address, { register: true });
    expect(memory.getRoot(ROOT_TAG)).toBe(second.address);
    // register: true records a new heap even when another one is recorded
    const third = new Pymalloc(raw, { register: true });
    expect(memory.getRoot(ROOT_TAG)).toBe(third.address);
    expect(Pymalloc.attach(Malloc.attach(memory)).address).toBe(third.address);
    for (const heap of [first, second, third]) expectHeapOk(heap);
  });

  it("register: false records nothing, and attach then needs the address", () => {
    const memory = new LinearMemory();
    const raw = new Malloc(memory);
    const obj = new Pymalloc(raw, { register: false });
    expect(memory.getRoot(ROOT_TAG)).toBe(0);
    expectError(() => Pymalloc.attach(raw), ErrorCode.Incompatible);
    const attached = Pymalloc.attach(raw, obj.address);
    expect(attached.address).toBe(obj.address);
    expect(memory.getRoot(ROOT_TAG)).toBe(0);
    // the raw heap's own record is separate
    expect(memory.getRoot("mllc")).toBe(raw.address);
  });
});

describe("a heap reopened from a copy of its memory", () => {
  it("has the same blocks, contents and stats, and works on its own without touching the original", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(16 * MiB) });
    const { raw, obj } = makeHeap({ layout: "python38" }, memory);
    const blocks: [number, number][] = [];
    for (let i = 0; i < 3000; i++) {
      const n = (i * 37) % 700;
      const p = obj.malloc(n);
      fill(memory, p, n, 1 + (i % 251));
      blocks.push([p, n]);
    }
    for (let i = 0; i < blocks.length; i += 3) obj.free(blocks[i]![0]);
    const stats = obj.stats();
    const arenas = inspectArenas(obj);
    expect(stats.arenasAllocatedCurrent).toBeGreaterThan(1);

    const copy = memory.buffer.slice(0);
    const mem2 = LinearMemory.attach(copy);
    const raw2 = Malloc.attach(mem2);
    const reopened = Pymalloc.attach(raw2);
    expect(reopened.address).toBe(obj.address);
    expect(reopened.layout).toEqual(obj.layout);
    expect(reopened.stats()).toEqual(stats);
    expect(inspectArenas(reopened)).toEqual(arenas);
    expect(reopened.formatStats()).toBe(obj.formatStats());
    expectHeapOk(reopened);
    expectHeapOk(raw2);
    blocks.forEach(([p, n], i) => {
      if (i % 3 === 0) {
        if (reopened.owns(p)) expectError(() => reopened.usableSize(p), ErrorCode.DoubleFree, p);
        return;
      }
      expect(reopened.usableSize(p)).toBe(obj.usableSize(p));
      expectFilled(mem2, p, n, 1 + (i % 251));
    });

    // the copy is a heap of its own now
    const original = snapshot(memory);
    const fresh = Array.from({ length: 500 }, (_, i) => reopened.malloc(16 + (i % 400)));
    expect(fresh.every((p) => p !== 0)).toBe(true);
    for (let i = 1; i < blocks.length; i += 3) reopened.free(blocks[i]![0]);
    for (let i = 2; i < blocks.length; i += 3) reopened.free(blocks[i]![0]);
    for (const p of fresh) reopened.free(p);
    expect(reopened.allocatedBlocks()).toBe(0);
    // arenas go back to the copy's memory (the default arena allocator is the copy's)
    expect(reopened.stats().arenasAllocatedCurrent).toBe(1);
    expectHeapOk(reopened);
    expectHeapOk(raw2);
    expect(Buffer.compare(memory.u8, original)).toBe(0);
    expect(obj.stats()).toEqual(stats);
    expectHeapOk(obj);
    expectHeapOk(raw);
  });
});

const WORKERS = 4;
const soak = process.env.TSMALLOC_SOAK === "1";
const OPERATIONS = soak ? 100_000 : 10_000;

describe("workers sharing one heap on a shared memory", () => {
  it("keep every block intact and the heap valid", { timeout: soak ? 1_800_000 : 120_000 }, async () => {
    const memory = new LinearMemory({ shared: true });
    expect(memory.shared).toBe(true);
    const { raw, obj } = makeHeap({}, memory);
    // blocks the main thread holds while the workers run
    const mine = Array.from({ length: 100 }, (_, i) => obj.malloc(1 + i * 5));
    mine.forEach((p, i) => fill(memory, p, 1 + i * 5, 0xff));
    const gate = new SharedArrayBuffer(4);
    const jobs = Array.from({ length: WORKERS }, (_, worker): WorkerJob => ({ source: memory.source, worker, operations: OPERATIONS, seed: 4242 + worker, workers: WORKERS, gate }));
    const reports = await runWorkers<WorkerReport>(new URL("./fixtures/shared-worker.ts", import.meta.url), jobs);
    expect(reports.map((r) => r.worker).sort()).toEqual([0, 1, 2, 3]);
    for (const report of reports) {
      // each worker used pools and the raw allocator, resized, and checked the heap while others ran
      expect(report.pooled).toBeGreaterThan(1000);
      expect(report.raw).toBeGreaterThan(100);
      expect(report.reallocated).toBeGreaterThan(100);
      expect(report.checks).toBe(Math.floor(OPERATIONS / 1000));
    }
    const live = reports.flatMap((r) => r.live);
    expect(new Set([...live.map(([p]) => p), ...mine]).size).toBe(live.length + mine.length);
    for (const [p, n, byte] of live) {
      const at = findMismatch(memory.u8, p, n, byte);
      expect(at < 0 ? "intact" : `0x${p.toString(16)} overwritten at +${at - p}`).toBe("intact");
    }
    mine.forEach((p, i) => expectFilled(memory, p, 1 + i * 5, 0xff));
    expectHeapOk(obj);
    expectHeapOk(raw);
    expect(obj.allocatedBlocks()).toBe(live.length + mine.length);
    for (const [p] of live) obj.free(p);
    for (const p of mine) obj.free(p);
    expect(obj.allocatedBlocks()).toBe(0);
    expect(obj.stats().rawAllocatedBlocks).toBe(0);
    expect(obj.stats().arenasAllocatedCurrent).toBeLessThanOrEqual(1);
    expectHeapOk(obj);
    expectHeapOk(raw);
  });
});
