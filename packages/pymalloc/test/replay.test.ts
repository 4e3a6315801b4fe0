/*
 * The first 200,000 events of the py_compileall trace (CPython 3.11 compiling a source tree: the
 * allocation pattern pymalloc was made for) replayed through pymalloc, with every block filled
 * with a byte derived from its id and verified before it is freed or moved and at the end. Plus a
 * deliberately broken allocator, to show that the verification catches an overlapping block at
 * the right event. The python38, align8 and wasm32 layouts replay the first 100,000 events.
 */
import type { LinearMemory } from "@tsmalloc/memory";
import type { Pymalloc } from "@tsmalloc/pymalloc";
import {
  bundledTracePath,
  loadTrace,
  OP_CALLOC,
  OP_FREE,
  OP_MALLOC,
  OP_MEMALIGN,
  OP_REALLOC,
  patternByte,
  ReplayMismatch,
  replayVerified,
  type Trace,
} from "@tsmalloc/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { expectHeapOk, makeHeap } from "./helpers.ts";

const EVENTS = 200_000;
const EVERY = 50_000;

/** What the trace itself says: live blocks after each event, the peak, and which blocks are small. */
interface TraceFacts {
  /** liveAfter[e]: blocks live after event e. */
  readonly liveAfter: Uint32Array;
  readonly peakLiveBlocks: number;
  /** Requests of 1..512 bytes (malloc, calloc, realloc), which pymalloc serves from pools. */
  readonly smallRequests: number;
}

function traceFacts(trace: Trace): TraceFacts {
  const live = new Uint8Array(trace.ids);
  const liveAfter = new Uint32Array(trace.length);
  let count = 0;
  let peak = 0;
  let small = 0;
  for (let e = 0; e < trace.length; e++) {
    const id = trace.id[e]!;
    const op = trace.op[e]!;
    const n = op === OP_CALLOC ? trace.arg[e]! * trace.size[e]! : trace.size[e]!;
    if (op === OP_MALLOC || op === OP_CALLOC || op === OP_MEMALIGN) {
      live[id] = 1;
      count++;
    } else if (op === OP_REALLOC) {
      if (live[trace.arg[e]!] === 1) count--;
      live[trace.arg[e]!] = 0;
      live[id] = 1;
      count++;
    } else if (op === OP_FREE && live[id] === 1) {
      live[id] = 0;
      count--;
    }
    if (op !== OP_FREE && n >= 1 && n <= 512) small++;
    liveAfter[e] = count;
    if (count > peak) peak = count;
  }
  return { liveAfter, peakLiveBlocks: peak, smallRequests: small };
}

let trace: Trace;
let facts: TraceFacts;
beforeAll(() => {
  trace = loadTrace(bundledTracePath("py_compileall"), EVENTS);
  facts = traceFacts(trace);
});

describe("replaying py_compileall", () => {
  it("keeps every block intact, the heap valid and the block count equal to the trace's", { timeout: 120_000 }, () => {
    expect(trace.length).toBe(EVENTS);
    const { obj, raw } = makeHeap();
    const checkpoints: number[] = [];
    let arenasSeen = 0;
    const result = replayVerified(trace, obj, {
      every: EVERY,
      checkpoint: (event) => {
        checkpoints.push(event);
        expectHeapOk(obj);
        expectHeapOk(raw);
        // (events are numbered from 1: liveAfter[event - 1] is the count after event `event`)
        if (event < EVENTS) {
          expect(obj.allocatedBlocks(), `allocatedBlocks() after event ${event}`).toBe(facts.liveAfter[event - 1]);
          expect(obj.stats().allocatedBlocks).toBe(facts.liveAfter[event - 1]);
          arenasSeen = Math.max(arenasSeen, obj.stats().arenasAllocatedCurrent);
        }
      },
      footprint: () => obj.stats().mappedBytes,
      release: true,
    });
    expect(result.events).toBe(EVENTS);
    expect(result.failures).toBe(0);
    expect(checkpoints).toEqual([50_000, 100_000, 150_000, 200_000]);
    expect(result.liveBlocks).toBe(facts.liveAfter[EVENTS - 1]);
    expect(result.peakLiveBlocks).toBe(facts.peakLiveBlocks);
    // sanity figures: pymalloc did the work, in several arenas, and gave everything back
    expect(arenasSeen).toBeGreaterThan(0);
    const stats = obj.stats();
    expect(stats.arenasAllocatedTotal).toBeGreaterThan(0);
    expect(stats.arenasHighwaterMark).toBeGreaterThanOrEqual(arenasSeen);
    expect(stats.arenasHighwaterMark * obj.layout.arenaSize).toBeGreaterThanOrEqual(result.peakFootprint);
    expect(result.peakFootprint).toBeGreaterThan(0);
    expect(facts.smallRequests / EVENTS).toBeGreaterThan(0.4);
    // released: no block left, at most the one arena the keep-one rule keeps
    expect(obj.allocatedBlocks()).toBe(0);
    expect(stats.rawAllocatedBlocks).toBe(0);
    expect(stats.arenasAllocatedCurrent).toBeLessThanOrEqual(1);
    expect(stats.classes).toEqual([]);
    expectHeapOk(obj);
    expectHeapOk(raw);
  });

  for (const [layout, alignment] of [["python38", 16], ["align8", 8], ["wasm32", 8]] as const) {
    it(`keeps every block intact with the ${layout} layout's small pools and arenas too`, { timeout: 120_000 }, () => {
      const { obj } = makeHeap({ layout });
      const result = replayVerified(trace, obj, { limit: 100_000, every: 25_000, checkpoint: () => expectHeapOk(obj), release: true, alignment });
      expect(result.failures).toBe(0);
      expect(obj.allocatedBlocks()).toBe(0);
      expect(obj.stats().arenasHighwaterMark).toBeGreaterThan(1);
    });
  }

  it("with 8-byte alignment hands out blocks that are not 16-byte aligned (the replay says so)", () => {
    const { obj } = makeHeap({ layout: "align8" });
    expect(() => replayVerified(trace, obj, { limit: 10_000 })).toThrow(/is not 16-byte aligned/);
  });
});

/**
 * Pymalloc, except that malloc call number `at` returns the block that the previous malloc
 * returned (still live), as a broken allocator would. The fake block is then freed as a no-op
 * and resized by copying, so that only the overlap itself can give the game away.
 */
class OverlappingOnce {
  readonly memory: LinearMemory;
  readonly #obj: Pymalloc;
  readonly #at: number;
  #calls = 0;
  #last = 0;
  #fake = 0;
  #fakeSize = 0;

  constructor(obj: Pymalloc, at: number) {
    this.#obj = obj;
    this.memory = obj.memory;
    this.#at = at;
  }

  malloc(n: number): number {
    this.#calls++;
    if (this.#calls === this.#at) {
      this.#fake = this.#last;
      this.#fakeSize = n;
      return this.#last;
    }
    this.#last = this.#obj.malloc(n);
    return this.#last;
  }

  calloc(nelem: number, elsize: number): number {
    return this.#obj.calloc(nelem, elsize);
  }

  realloc(p: number, n: number): number {
    if (p !== 0 && p === this.#fake) {
      this.#fake = 0;
      const q = this.#obj.malloc(n);
      this.memory.u8.copyWithin(q, p, p + Math.min(n, this.#fakeSize));
      return q;
    }
    return this.#obj.realloc(p, n);
  }

  free(p: number): void {
    if (p !== 0 && p === this.#fake) {
      this.#fake = 0;
      return;
    }
    this.#obj.free(p);
  }
}

describe("the verification itself", () => {
  it("catches a broken allocator that hands out a live block again, at the event that reads the old block", { timeout: 60_000 }, () => {
    // endOf[id]: the event that frees or reallocates block id (where the replay reads it), or -1
    const endOf = new Int32Array(trace.ids).fill(-1);
    for (let e = 0; e < trace.length; e++) {
      if (trace.op[e] === OP_FREE && endOf[trace.id[e]!] === -1) endOf[trace.id[e]!] = e;
      if (trace.op[e] === OP_REALLOC) endOf[trace.arg[e]!] = e;
    }
    // pick a malloc whose previous malloc's block is still live, at least as large, has another
    // fill byte, and is read again before the end of the replay
    let call = 0;
    let malloc = 0;
    let previous = -1;
    let oldId = -1;
    let injectedAt = -1;
    let expected = -1;
    for (let e = 0; e < trace.length && expected < 0; e++) {
      if (trace.op[e] !== OP_MALLOC) continue;
      malloc++;
      if (previous >= 0 && malloc > 5000) {
        const old = trace.id[previous]!;
        const n = trace.size[e]!;
        const end = endOf[old]!;
        if (n > 0 && n <= trace.size[previous]! && patternByte(trace.id[e]!) !== patternByte(old) && end > e && end < EVENTS) {
          call = malloc;
          oldId = old;
          injectedAt = e;
          expected = end;
        }
      }
      previous = e;
    }
    expect(injectedAt).toBeGreaterThan(0);
    expect(expected).toBeGreaterThan(injectedAt);
    const { obj } = makeHeap();
    let error: unknown;
    try {
      replayVerified(trace, new OverlappingOnce(obj, call));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReplayMismatch);
    const mismatch = error as ReplayMismatch;
    // (`expected` is the index of the event; events are numbered from 1)
    expect(mismatch.event).toBe(expected + 1);
    expect(mismatch.message).toContain(`block ${oldId} `);
    expect(mismatch.message).toContain("overwritten");
    // and the same replay through the honest allocator passes
    const honest = makeHeap().obj;
    expect(replayVerified(trace, honest, { limit: expected + 1 }).failures).toBe(0);
  });
});
