/*
 * Property tests against testkit's AllocatorModel: random sequences of malloc / calloc / realloc /
 * free (and bursts of one size, and mass frees, to fill and empty whole pools and arenas), on every
 * layout preset and on a layout with tiny arenas. After every step: the model's checks (alignment,
 * no overlap of the requested bytes, zeroed calloc, contents kept), no overlap of the usable
 * ranges, pymalloc's own rules (which blocks come from pools, their usable size, when realloc
 * stays in place), heap.check(), and allocatedBlocks() against the model. At the end everything is
 * freed and the heap must be back to at most one wholly free arena.
 *
 * TSMALLOC_PROPERTY_RUNS=n sets the number of runs per layout; TSMALLOC_SOAK=1 runs many more,
 * longer sequences.
 */
import {
  inspectArenas,
  inspectState,
  type PymallocLayoutOptions,
  PymallocLayouts,
} from "@tsmalloc/pymalloc";
import { AllocatorModel } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classSizeFor, type Heap, hex, makeHeap } from "./helpers.ts";

const soak = process.env.TSMALLOC_SOAK === "1";
const numRuns = Number(process.env.TSMALLOC_PROPERTY_RUNS ?? (soak ? 500 : 50));
const maxLength = soak ? 1000 : 200;
/** A guard against a hung run, not a time limit on the work. */
const timeout = soak ? 3_600_000 : 120_000;

type Op =
  | { readonly op: "malloc"; readonly size: number }
  | { readonly op: "calloc"; readonly nelem: number; readonly elsize: number }
  | { readonly op: "realloc"; readonly pick: number; readonly size: number }
  | { readonly op: "free"; readonly pick: number }
  | { readonly op: "burst"; readonly size: number; readonly count: number }
  | { readonly op: "drain"; readonly pick: number; readonly stride: number };

/** Sizes weighted to 0..600: mostly small-object sizes, some 0, some large up to 20,000. */
const size = fc.oneof(
  { weight: 60, arbitrary: fc.integer({ min: 1, max: 512 }) },
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 10, arbitrary: fc.integer({ min: 513, max: 600 }) },
  { weight: 6, arbitrary: fc.integer({ min: 601, max: 20_000 }) },
  { weight: 8, arbitrary: fc.constantFrom(1, 7, 8, 9, 15, 16, 17, 24, 48, 49, 64, 384, 385, 496, 511, 512, 513) },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ op: fc.constant("malloc" as const), size }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("calloc" as const),
      nelem: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 600 })),
      elsize: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 600 })),
    }),
  },
  { weight: 15, arbitrary: fc.record({ op: fc.constant("realloc" as const), pick: fc.nat(), size }) },
  { weight: 30, arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }) },
  // enough blocks of one class to fill a pool (or several small ones)
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("burst" as const), size: fc.integer({ min: 1, max: 512 }), count: fc.integer({ min: 10, max: 300 }) }),
  },
  // free every stride-th live block from pick on: empties pools and arenas
  { weight: 3, arbitrary: fc.record({ op: fc.constant("drain" as const), pick: fc.nat(), stride: fc.integer({ min: 1, max: 3 }) }) },
);

let operations = 0;
/** Per layout: the most arenas held at once in any run, and arenas given back over all runs. */
const arenaUse = new Map<string, { highwater: number; reclaimed: number }>();

/** Runs `ops` on `heap`, checking everything after every step; frees everything at the end. */
function run(name: string, heap: Heap, ops: readonly Op[]): void {
  const { obj, memory } = heap;
  const { alignment, smallRequestThreshold: threshold } = obj.layout;
  const model = new AllocatorModel(memory, alignment);
  /** Live blocks: address -> usable size. */
  const live = new Map<number, number>();
  const order: number[] = [];

  /** Records a new block; `kept`: a realloc left it in place, in its old class. */
  const created = (p: number, n: number, kept = false): void => {
    if (p === 0) throw new Error(`allocation of ${n} bytes failed on a growable memory`);
    const usable = obj.usableSize(p);
    if (usable < n) throw new Error(`usableSize(${hex(p)}) is ${usable}, below the ${n} bytes asked for`);
    const pooled = n >= 1 && n <= threshold;
    if (obj.owns(p) !== pooled) throw new Error(`a block of ${n} bytes at ${hex(p)} is ${pooled ? "not " : ""}a pool block`);
    if (pooled && !kept && usable !== classSizeFor(n, alignment)) throw new Error(`usableSize(${hex(p)}) is ${usable} for ${n} bytes`);
    for (const [q, u] of live) {
      if (p < q + u && q < p + usable) throw new Error(`block ${hex(p)} (${usable} usable) overlaps live block ${hex(q)} (${u} usable)`);
    }
    live.set(p, usable);
    order.push(p);
  };
  const forget = (at: number): number => {
    const p = order[at]!;
    order[at] = order[order.length - 1]!;
    order.pop();
    live.delete(p);
    return p;
  };

  for (const step of ops) {
    operations++;
    switch (step.op) {
      case "malloc": {
        const p = obj.malloc(step.size);
        model.allocated(p, step.size);
        created(p, step.size);
        break;
      }
      case "calloc": {
        const p = obj.calloc(step.nelem, step.elsize);
        const n = step.nelem * step.elsize;
        model.allocated(p, n, true);
        created(p, n);
        break;
      }
      case "burst": {
        for (let i = 0; i < step.count; i++) {
          const p = obj.malloc(step.size);
          model.allocated(p, step.size);
          created(p, step.size);
        }
        break;
      }
      case "realloc": {
        if (order.length === 0) {
          const p = obj.realloc(0, step.size);
          model.allocated(p, step.size);
          created(p, step.size);
          break;
        }
        const at = step.pick % order.length;
        const p = order[at]!;
        const pooled = obj.owns(p);
        const classBytes = live.get(p)!;
        const q = obj.realloc(p, step.size);
        model.reallocated(p, q, step.size);
        if (q === 0) throw new Error(`realloc(${hex(p)}, ${step.size}) failed on a growable memory`);
        forget(at);
        if (pooled) {
          // CPython's rule: in place iff 3/4 of the class size < n <= the class size
          const inPlace = step.size <= classBytes && 4 * step.size > 3 * classBytes;
          if ((q === p) !== inPlace) throw new Error(`realloc of a ${classBytes}-byte block to ${step.size} ${q === p ? "stayed" : "moved"}`);
          created(q, step.size, inPlace);
        } else {
          // a raw block stays raw, whatever its new size
          if (obj.owns(q)) throw new Error(`realloc of raw block ${hex(p)} to ${step.size} gave a pool block`);
          live.set(q, obj.usableSize(q));
          order.push(q);
        }
        break;
      }
      case "free": {
        if (order.length === 0) break;
        const p = forget(step.pick % order.length);
        model.freed(p);
        obj.free(p);
        break;
      }
      case "drain": {
        if (order.length === 0) break;
        const from = step.pick % order.length;
        const victims = order.filter((_, i) => i >= from && (i - from) % step.stride === 0);
        const gone = new Set(victims);
        const kept = order.filter((p) => !gone.has(p));
        order.length = 0;
        order.push(...kept);
        for (const p of victims) {
          live.delete(p);
          model.freed(p);
          obj.free(p);
        }
        break;
      }
    }
    const check = obj.check();
    if (!check.ok) throw new Error(`heap check after ${JSON.stringify(step)}: ${JSON.stringify(check.problems.slice(0, 5))}`);
    const blocks = obj.allocatedBlocks();
    if (blocks !== model.size) throw new Error(`allocatedBlocks() is ${blocks}, the model has ${model.size} live blocks`);
  }
  model.verifyAll();
  for (const p of order) {
    model.freed(p);
    obj.free(p);
  }
  expectEmpty(heap);
  const stats = obj.stats();
  const use = arenaUse.get(name) ?? { highwater: 0, reclaimed: 0 };
  arenaUse.set(name, { highwater: Math.max(use.highwater, stats.arenasHighwaterMark), reclaimed: use.reclaimed + stats.arenasReclaimed });
}

/** Everything freed: no block, no raw block, at most one arena and all its pools free. */
function expectEmpty({ obj, raw }: Heap): void {
  if (obj.allocatedBlocks() !== 0) throw new Error(`allocatedBlocks() is ${obj.allocatedBlocks()} after freeing everything`);
  const state = inspectState(obj);
  if (state.rawAllocatedBlocks !== 0) throw new Error(`raw_allocated_blocks is ${state.rawAllocatedBlocks}`);
  const arenas = inspectArenas(obj).filter((a) => a.address !== 0);
  if (arenas.length > 1) throw new Error(`${arenas.length} arenas are left; the keep-one rule keeps one`);
  for (const arena of arenas) {
    if (arena.nfreepools !== arena.ntotalpools) throw new Error(`arena ${arena.index} has ${arena.nfreepools} of ${arena.ntotalpools} pools free`);
    if (state.usableArenas !== arena.object) throw new Error("the kept arena is not on usable_arenas");
  }
  if (state.usedpools.some((p) => p !== 0)) throw new Error(`usedpools is not empty: ${state.usedpools.map(hex).join(", ")}`);
  if (obj.stats().arenasAllocatedCurrent !== arenas.length) throw new Error("stats() disagrees with the arenas vector");
  const check = obj.check();
  if (!check.ok) throw new Error(`heap check after freeing everything: ${JSON.stringify(check.problems.slice(0, 5))}`);
  if (!raw.check().ok) throw new Error("the raw heap is broken");
  // left in the raw heap: the state block, the arena map and, once there is one, the arenas vector
  const metadata = 2 + (state.maxarenas > 0 ? 1 : 0);
  if (raw.stats().allocatedBlocks !== metadata) throw new Error(`the raw heap holds ${raw.stats().allocatedBlocks} blocks, expected ${metadata}`);
}

const layouts: [string, PymallocLayoutOptions][] = [
  ["default (3.10+: 16-byte classes, 16 KiB pools, 1 MiB arenas)", PymallocLayouts.default],
  ["python38 (4 KiB pools, 256 KiB arenas)", PymallocLayouts.python38],
  ["align8 (64 classes of 8 bytes)", PymallocLayouts.align8],
  ["wasm32 (64 classes of 8 bytes, 32-byte pool headers)", PymallocLayouts.wasm32],
  ["tiny arenas (16 pools of 4 KiB)", { alignment: 16, smallRequestThreshold: 512, poolSize: 4096, arenaSize: 65536, pointerSize: 8 }],
];

describe("random sequences against the allocator model", () => {
  for (const [name, layout] of layouts) {
    it(`hold every guarantee with the ${name} layout`, { timeout }, () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 20, maxLength, size: "max" }), (ops) => {
          run(name, makeHeap({ layout }), ops);
        }),
        { numRuns },
      );
    });
  }

  it("ran enough operations to mean something, with several arenas and arenas given back", () => {
    expect(operations).toBeGreaterThanOrEqual(numRuns * layouts.length * 20);
    // the small-arena layouts needed more than one arena at a time, and gave arenas back
    for (const [name] of layouts.slice(1)) {
      expect(arenaUse.get(name)!.highwater, name).toBeGreaterThan(1);
      expect(arenaUse.get(name)!.reclaimed, name).toBeGreaterThan(0);
    }
  });
});
