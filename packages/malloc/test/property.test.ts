/*
 * Property tests against testkit's AllocatorModel: random sequences of malloc / calloc / realloc /
 * free / memalign, with the model's checks (alignment, no overlap, zeroed calloc, contents kept)
 * and heap.check() after every step. Set TSMALLOC_SOAK=1 for a much longer run.
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { AllocatorModel } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blockSizeFor, HEADER, MiB } from "./helpers.ts";

const soak = process.env.TSMALLOC_SOAK === "1";
const numRuns = soak ? 1000 : 80;
const maxLength = soak ? 1000 : 300;
/** A guard against a hung run, not a time limit on the work. */
const timeout = soak ? 3_600_000 : 120_000;

type Op =
  | { readonly op: "malloc"; readonly size: number }
  | { readonly op: "calloc"; readonly nelem: number; readonly elsize: number }
  | { readonly op: "realloc"; readonly pick: number; readonly size: number }
  | { readonly op: "free"; readonly pick: number }
  | { readonly op: "memalign"; readonly shift: number; readonly size: number };

/** Sizes biased to small, with some medium and a few large (at or above the 1 MiB threshold). */
const size = fc.oneof(
  { weight: 60, arbitrary: fc.integer({ min: 0, max: 256 }) },
  { weight: 25, arbitrary: fc.integer({ min: 257, max: 8192 }) },
  { weight: 10, arbitrary: fc.integer({ min: 8193, max: 400_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: MiB - 64, max: 3 * MiB }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 8, 9, 24, 25, 255, 256, 65535, 65536, MiB - 1, MiB) },
);

/**
 * Sizes around the 64 bytes up to which copies and zeroings go word by word, and the small
 * blocks' fast paths: a realloc or calloc of these moves or zeroes a short run of words.
 */
const shortSize = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 96 }) }, { weight: 1, arbitrary: fc.integer({ min: 97, max: 600 }) });

/** The operations, with request sizes drawn from `size`. */
const opsOf = (size: fc.Arbitrary<number>): fc.Arbitrary<Op> => fc.oneof(
  { weight: 30, arbitrary: fc.record({ op: fc.constant("malloc" as const), size }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("calloc" as const),
      nelem: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 4096 })),
      elsize: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 1024 })),
    }),
  },
  { weight: 15, arbitrary: fc.record({ op: fc.constant("realloc" as const), pick: fc.nat(), size }) },
  { weight: 35, arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }) },
  // alignments 1 .. 2 MiB, mostly small
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("memalign" as const),
      shift: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 12 }) }, { weight: 1, arbitrary: fc.integer({ min: 13, max: 21 }) }),
      size,
    }),
  },
);

const op: fc.Arbitrary<Op> = opsOf(size);

let operations = 0;

/** Runs `ops` on a fresh heap, checking the model and the heap after every step. */
function run(heap: Malloc, ops: readonly Op[]): { failures: number } {
  const model = new AllocatorModel(heap.memory);
  const live: number[] = [];
  let failures = 0;
  const created = (p: number, n: number): void => {
    if (p === 0) {
      failures++;
      return;
    }
    live.push(p);
    const usable = heap.usableSize(p);
    if (usable < Math.max(n, 1)) throw new Error(`usableSize(0x${p.toString(16)}) is ${usable}, below the ${n} bytes asked for`);
    if (n < heap.mmapThreshold && usable !== blockSizeFor(n) - HEADER && heap.memory.pageOwner(p) === RegionOwner.Malloc) {
      throw new Error(`usableSize(0x${p.toString(16)}) is ${usable} for ${n} bytes`);
    }
  };
  for (const step of ops) {
    operations++;
    switch (step.op) {
      case "malloc": {
        const p = heap.malloc(step.size);
        model.allocated(p, step.size);
        created(p, step.size);
        break;
      }
      case "calloc": {
        const p = heap.calloc(step.nelem, step.elsize);
        model.allocated(p, step.nelem * step.elsize, true);
        created(p, step.nelem * step.elsize);
        break;
      }
      case "memalign": {
        const alignment = 2 ** step.shift;
        const p = heap.memalign(alignment, step.size);
        model.allocated(p, step.size, false, Math.max(alignment, 16));
        created(p, step.size);
        break;
      }
      case "realloc": {
        if (live.length === 0) {
          const p = heap.realloc(0, step.size);
          model.allocated(p, step.size);
          created(p, step.size);
          break;
        }
        const at = step.pick % live.length;
        const p = live[at]!;
        const q = heap.realloc(p, step.size);
        model.reallocated(p, q, step.size);
        if (q === 0) {
          failures++;
          // the old block is intact (the model verified it) and still allocated
          if (heap.usableSize(p) < model.get(p)!.size) throw new Error("a failed realloc shrank the old block");
        } else {
          live.splice(at, 1);
          created(q, step.size);
        }
        break;
      }
      case "free": {
        if (live.length === 0) break;
        const p = live.splice(step.pick % live.length, 1)[0]!;
        model.freed(p);
        heap.free(p);
        break;
      }
    }
    const check = heap.check();
    if (!check.ok) throw new Error(`heap check after ${step.op}: ${JSON.stringify(check.problems.slice(0, 5))}`);
    const stats = heap.stats();
    if (stats.allocatedBlocks !== model.size) throw new Error(`stats() counts ${stats.allocatedBlocks} blocks, the model ${model.size}`);
  }
  model.verifyAll();
  for (const p of live) {
    model.freed(p);
    heap.free(p);
  }
  const stats = heap.stats();
  if (stats.allocatedBlocks !== 0 || stats.largeBlocks !== 0) throw new Error(`blocks left after freeing all: ${JSON.stringify(stats)}`);
  if (!heap.check().ok) throw new Error("heap check failed after freeing all");
  return { failures };
}

describe("random sequences against the allocator model", () => {
  it("hold every guarantee on a default (growable) memory", { timeout }, () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 100, maxLength, size: "max" }), (ops) => {
        run(new Malloc(new LinearMemory()), ops);
      }),
      { numRuns },
    );
  });

  it("hold every guarantee on a small fixed memory, where requests fail with NULL", { timeout }, () => {
    let failures = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 100, maxLength, size: "max" }), (ops) => {
        const heap = new Malloc(new LinearMemory({ buffer: new ArrayBuffer(3 << 20) }), { segmentSize: 65536 });
        failures += run(heap, ops).failures;
      }),
      { numRuns },
    );
    // the memory is small enough for NULL returns to be exercised
    expect(failures).toBeGreaterThan(0);
  });

  it("hold on a heap with a low mmap threshold and small segments", { timeout }, () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 50, maxLength: maxLength / 2, size: "max" }), (ops) => {
        run(new Malloc(new LinearMemory({ buffer: new ArrayBuffer(48 << 20) }), { mmapThreshold: 4096, segmentSize: 65536 }), ops);
      }),
      { numRuns: Math.ceil(numRuns / 2) },
    );
  });

  it("hold for short blocks, moved and zeroed word by word", { timeout }, () => {
    fc.assert(
      fc.property(fc.array(opsOf(shortSize), { minLength: 100, maxLength, size: "max" }), (ops) => {
        run(new Malloc(new LinearMemory()), ops);
      }),
      { numRuns },
    );
  });

  it("ran at least 10,000 operations in all", () => {
    expect(operations).toBeGreaterThanOrEqual(soak ? 200_000 : 10_000);
  });
});
